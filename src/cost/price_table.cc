// PriceTable: LiteLLM-format price entries, name resolution and the cost formula.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/files.h"
#include "cost/price_data.h"
#include "llmkit/cost.h"

namespace llmkit {

Cost& Cost::operator+=(const Cost& other) {
  if (!other.priced && priced) {
    priced = false;
    unpriced_model = other.unpriced_model;
  }
  input += other.input;
  cached_input += other.cached_input;
  cache_write += other.cache_write;
  output += other.output;
  reasoning += other.reasoning;
  total += other.total;
  return *this;
}

double TokenPrice::At(int64_t input_tokens) const {
  double price = per_token;
  for (const auto& [threshold, tier] : above) {
    if (input_tokens > threshold) price = tier;
  }
  return price;
}

Cost ModelPrice::Price(const Usage& usage) const {
  Cost cost;
  const int64_t all_input = std::max<int64_t>(usage.input_tokens, 0);
  const double input_price = input ? input->At(all_input) : 0;
  const double output_price = output ? output->At(all_input) : 0;
  // Cache reads and writes are parts of input_tokens; each has its own price where the table
  // gives one, else it stays in the input at the input price.
  int64_t uncached = all_input;
  if (cache_read && usage.cached_input_tokens > 0) {
    cost.cached_input = static_cast<double>(usage.cached_input_tokens) * cache_read->At(all_input);
    uncached -= usage.cached_input_tokens;
  }
  if (cache_write && usage.cache_creation_input_tokens > 0) {
    cost.cache_write =
        static_cast<double>(usage.cache_creation_input_tokens) * cache_write->At(all_input);
    uncached -= usage.cache_creation_input_tokens;
  }
  cost.input = static_cast<double>(std::max<int64_t>(uncached, 0)) * input_price;
  int64_t plain_output = std::max<int64_t>(usage.output_tokens, 0);
  if (reasoning && usage.reasoning_tokens > 0) {
    const int64_t tokens = std::min(usage.reasoning_tokens, plain_output);
    cost.reasoning = static_cast<double>(tokens) * reasoning->At(all_input);
    plain_output -= tokens;
  }
  cost.output = static_cast<double>(plain_output) * output_price;
  cost.total = cost.input + cost.cached_input + cost.cache_write + cost.output + cost.reasoning;
  return cost;
}

struct PriceTable::Entries {
  absl::flat_hash_map<std::string, ModelPrice> by_name;
};

namespace {

using Entries = absl::flat_hash_map<std::string, ModelPrice>;

struct Field {
  std::string_view name;
  std::optional<TokenPrice> ModelPrice::*member;
};

constexpr Field kFields[] = {
    {"input_cost_per_token", &ModelPrice::input},
    {"cache_read_input_token_cost", &ModelPrice::cache_read},
    {"cache_creation_input_token_cost", &ModelPrice::cache_write},
    {"output_cost_per_token", &ModelPrice::output},
    {"output_cost_per_reasoning_token", &ModelPrice::reasoning},
};

absl::Status BadField(std::string_view model, std::string_view field, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("price table: model \"", internal::ToAbsl(model),
                                                 "\" field \"", internal::ToAbsl(field),
                                                 "\": ", internal::ToAbsl(why)));
}

absl::StatusOr<double> PriceValue(std::string_view model, std::string_view field,
                                  const Json& value) {
  double price = 0;
  if (value.is_number()) {
    price = value.as_double();
  } else if (value.is_string() && absl::SimpleAtod(value.as_string(), &price)) {
    // LiteLLM's file has a few prices written as strings.
  } else {
    return BadField(model, field, "not a number");
  }
  if (!std::isfinite(price) || price < 0) {
    return BadField(model, field, "a price must be a finite number >= 0");
  }
  return price;
}

// "_above_128k_tokens" -> 128000, "_above_271999_tokens" -> 271999.
std::optional<int64_t> Threshold(std::string_view suffix) {
  if (!suffix.starts_with("_above_") || !suffix.ends_with("_tokens")) return std::nullopt;
  suffix.remove_prefix(7);
  suffix.remove_suffix(7);
  int64_t scale = 1;
  if (suffix.ends_with('k')) {
    suffix.remove_suffix(1);
    scale = 1000;
  }
  int64_t count = 0;
  if (suffix.empty() || !absl::SimpleAtoi(internal::ToAbsl(suffix), &count) || count < 0 ||
      count > (int64_t{1} << 40)) {
    return std::nullopt;
  }
  return count * scale;
}

absl::StatusOr<int64_t> CountValue(std::string_view model, std::string_view field,
                                   const Json& value) {
  if (value.is_int() && value.as_int() >= 0) return value.as_int();
  if (value.is_double() && value.as_double() >= 0 && value.as_double() < 9e15) {
    return static_cast<int64_t>(value.as_double());
  }
  return BadField(model, field, "not a count");
}

absl::StatusOr<ModelPrice> ParseEntry(std::string_view model, const Json& entry) {
  if (!entry.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("price table: model \"", internal::ToAbsl(model), "\" is not an object"));
  }
  ModelPrice price;
  for (const auto& [key, value] : entry.as_object()) {
    if (value.is_null()) continue;
    bool handled = false;
    for (const Field& field : kFields) {
      if (!std::string_view(key).starts_with(field.name)) continue;
      std::string_view rest = std::string_view(key).substr(field.name.size());
      std::optional<TokenPrice>& slot = price.*field.member;
      if (rest.empty()) {
        absl::StatusOr<double> base = PriceValue(model, key, value);
        if (!base.ok()) return base.status();
        if (!slot) slot.emplace();
        slot->per_token = *base;
        handled = true;
      } else if (rest.starts_with("_above_")) {
        std::optional<int64_t> threshold = Threshold(rest);
        if (!threshold) return BadField(model, key, "expected _above_<N>k_tokens");
        absl::StatusOr<double> tier = PriceValue(model, key, value);
        if (!tier.ok()) return tier.status();
        if (!slot) slot.emplace();
        slot->above.emplace_back(*threshold, *tier);
        handled = true;
      }
      break;
    }
    if (handled) continue;
    if (key == "max_input_tokens" || key == "max_output_tokens") {
      absl::StatusOr<int64_t> count = CountValue(model, key, value);
      if (!count.ok()) return count.status();
      (key == "max_input_tokens" ? price.max_input_tokens : price.max_output_tokens) = *count;
    } else if (key == "litellm_provider" && value.is_string()) {
      price.provider = value.as_string();
    } else if (key == "mode" && value.is_string()) {
      price.mode = value.as_string();
    } else if (key == "snapshots_share_price" && value.is_bool()) {
      price.snapshots_share_price = value.as_bool();
    }
  }
  for (const Field& field : kFields) {
    std::optional<TokenPrice>& slot = price.*field.member;
    if (!slot) continue;
    std::sort(slot->above.begin(), slot->above.end());
    if (!entry.Find(field.name)) return BadField(model, field.name, "a tier without a base price");
    for (size_t i = 1; i < slot->above.size(); ++i) {
      if (slot->above[i].first == slot->above[i - 1].first) {
        return BadField(model, field.name, "two tiers with the same threshold");
      }
    }
  }
  return price;
}

// "-2024-08-06", "-20241022", "-0613", "-latest" at the end of `name`: the length of the base.
std::optional<size_t> SnapshotBase(std::string_view name) {
  if (name.ends_with("-latest")) return name.size() - 7;
  size_t digits = 0;
  while (digits < name.size() &&
         std::isdigit(static_cast<unsigned char>(name[name.size() - 1 - digits]))) {
    ++digits;
  }
  const size_t end = name.size() - digits;
  if (digits == 8 || digits == 4) {
    if (end > 1 && name[end - 1] == '-') return end - 1;
    return std::nullopt;
  }
  // YYYY-MM-DD: 2 digits, '-', 2 digits, '-', 4 digits.
  if (digits == 2 && name.size() >= 11) {
    std::string_view tail = name.substr(name.size() - 11);
    auto digit = [&](size_t i) { return std::isdigit(static_cast<unsigned char>(tail[i])) != 0; };
    if (tail[0] == '-' && digit(1) && digit(2) && digit(3) && digit(4) && tail[5] == '-' &&
        digit(6) && digit(7) && tail[8] == '-' && digit(9) && digit(10)) {
      return name.size() - 11;
    }
  }
  return std::nullopt;
}

}  // namespace

std::shared_ptr<const PriceTable> PriceTable::Default() {
  static const std::shared_ptr<const PriceTable> table = [] {
    absl::StatusOr<PriceTable> parsed = Parse(internal::BundledPriceTable());
    // The bundled file is checked by the tests; an error here is a build defect.
    return std::make_shared<const PriceTable>(parsed.ok() ? *std::move(parsed) : PriceTable());
  }();
  return table;
}

absl::StatusOr<std::shared_ptr<const PriceTable>> PriceTable::Load(const std::string& path) {
  absl::StatusOr<std::string> text = internal::ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<PriceTable> table = Parse(*text);
  if (!table.ok()) {
    return absl::Status(table.status().code(), absl::StrCat(path, ": ", table.status().message()));
  }
  return std::make_shared<const PriceTable>(*std::move(table));
}

absl::StatusOr<PriceTable> PriceTable::Parse(std::string_view json) {
  absl::StatusOr<Json> document = Json::Parse(json);
  if (!document.ok()) return document.status();
  if (!document->is_object()) {
    return absl::InvalidArgumentError("price table: expected an object of model name -> entry");
  }
  PriceTable table;
  table.entries_ = std::make_shared<Entries>();
  table.entries_->by_name.reserve(document->size());
  for (const auto& [name, entry] : document->as_object()) {
    if (name == "sample_spec" || name == "fallback_generalizations") continue;
    absl::StatusOr<ModelPrice> price = ParseEntry(name, entry);
    if (!price.ok()) return price.status();
    table.entries_->by_name.insert_or_assign(name, *std::move(price));
  }
  return table;
}

absl::Status PriceTable::Set(std::string_view name, const Json& entry) {
  absl::StatusOr<ModelPrice> price = ParseEntry(name, entry);
  if (!price.ok()) return price.status();
  Set(name, *std::move(price));
  return absl::OkStatus();
}

void PriceTable::Set(std::string_view name, ModelPrice price) {
  auto entries =
      entries_ == nullptr ? std::make_shared<Entries>() : std::make_shared<Entries>(*entries_);
  entries->by_name.insert_or_assign(std::string(name), std::move(price));
  entries_ = std::move(entries);
}

size_t PriceTable::size() const { return entries_ == nullptr ? 0 : entries_->by_name.size(); }

std::optional<PriceTable::Match> PriceTable::Find(std::string_view model,
                                                  std::string_view provider) const {
  if (entries_ == nullptr || model.empty()) return std::nullopt;
  const auto& by_name = entries_->by_name;
  auto exact = [&](std::string_view name) -> std::optional<Match> {
    auto it = by_name.find(internal::ToAbsl(name));
    if (it == by_name.end()) return std::nullopt;
    return Match{it->first, &it->second};
  };
  // The name, its provider-prefixed form and its unprefixed form, as given then lowercased.
  auto direct = [&](std::string_view name) -> std::optional<Match> {
    if (auto match = exact(name)) return match;
    const size_t slash = name.find('/');
    if (slash != std::string_view::npos && slash > 0) {
      std::string_view prefix = name.substr(0, slash);
      if (auto match = exact(name.substr(slash + 1)); match && match->price->provider == prefix) {
        return match;
      }
    }
    if (!provider.empty() && slash == std::string_view::npos) {
      if (auto match =
              exact(absl::StrCat(internal::ToAbsl(provider), "/", internal::ToAbsl(name)))) {
        return match;
      }
    }
    return std::nullopt;
  };
  auto any_case = [&](std::string_view name) -> std::optional<Match> {
    if (auto match = direct(name)) return match;
    std::string lower = absl::AsciiStrToLower(internal::ToAbsl(name));
    if (lower != name) return direct(lower);
    return std::nullopt;
  };
  if (auto match = any_case(model)) return match;
  if (std::optional<size_t> base = SnapshotBase(model)) {
    if (auto match = any_case(model.substr(0, *base));
        match && match->price->snapshots_share_price) {
      return match;
    }
  }
  return std::nullopt;
}

Cost PriceTable::Price(std::string_view model, const Usage& usage,
                       std::string_view provider) const {
  if (std::optional<Match> match = Find(model, provider)) return match->price->Price(usage);
  Cost cost;
  if (usage.input_tokens > 0 || usage.output_tokens > 0) {
    cost.priced = false;
    cost.unpriced_model = model.empty() ? "(no model name)" : std::string(model);
  }
  return cost;
}

Cost PriceTable::Price(const ChatResponse& response, std::string_view provider,
                       std::string_view default_model) const {
  const std::string_view model = response.model.empty() ? default_model : response.model;
  // Each call by its own model and size (chat.h CallsOf: the spent attempts, then the answer's
  // own call), the answer's first.
  const std::vector<SpentAttempt> calls = CallsOf(response);
  auto price = [&](const SpentAttempt& call) {
    return Price(call.model.empty() ? model : std::string_view(call.model), call.usage, provider);
  };
  Cost cost = price(calls.back());
  for (size_t i = 0; i + 1 < calls.size(); ++i) cost += price(calls[i]);
  return cost;
}

}  // namespace llmkit
