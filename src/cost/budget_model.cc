// WithBudget: prices each call, checks the budgets before it is sent (reserving its estimate),
// and settles it in the ledger with what it really cost.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/absl_compat.h"
#include "cost/ledger_impl.h"
#include "llmkit/status.h"

namespace llmkit {

namespace {

absl::Status Refusal(const Budget& budget, double held, double estimate) {
  absl::Status status = absl::ResourceExhaustedError(
      absl::StrFormat("budget \"%s\" would be exceeded: $%.6f spent or reserved of $%.6f, this "
                      "call may cost $%.6f",
                      budget.name, held, budget.limit_usd, estimate));
  status.SetPayload(internal::ToAbsl(kPayloadBudget), absl::Cord(budget.name));
  status.SetPayload(internal::ToAbsl(kPayloadBudgetSpent),
                    absl::Cord(absl::StrFormat("%.9f", held)));
  status.SetPayload(internal::ToAbsl(kPayloadBudgetLimit),
                    absl::Cord(absl::StrFormat("%.9f", budget.limit_usd)));
  status.SetPayload(internal::ToAbsl(kPayloadShouldRetry), absl::Cord("false"));
  return status;
}

absl::Status Unpriced(const Budget& budget, std::string_view model) {
  return absl::FailedPreconditionError(absl::StrCat(
      model.empty()
          ? std::string("the request names no model (set BudgetOptions::default_model to the "
                        "client's)")
          : absl::StrCat("model \"", internal::ToAbsl(model), "\" is not in the price table"),
      ", so hard budget \"", budget.name,
      "\" cannot bound its cost: add its price (PriceTable::Set) or set allow_unpriced"));
}

// A reservation id unique across processes and machines.
std::string ReservationId() {
  static const uint64_t seed = [] {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }();
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat(absl::Hex(seed), "-", getpid(), "-", counter.fetch_add(1));
}

}  // namespace

// Reservations and settlements against the ledger's budgets: in the ledger's memory, or in
// Redis (ledger_impl.h) when it has a redis_url.
class BudgetKeeper {
 public:
  // What one admitted call holds until it settles.
  struct Admission {
    std::vector<size_t> watches;
    double reserved = 0;
    std::string redis_id;  // Redis: the reservation's id.
  };

  static absl::StatusOr<std::vector<size_t>> Register(Ledger& ledger,
                                                      const std::vector<Budget>& budgets) {
    Ledger::Impl& impl = *ledger.impl_;
    std::lock_guard<std::mutex> lock(impl.mu);
    std::vector<size_t> ids;
    for (const Budget& budget : budgets) {
      size_t id = impl.watches.size();
      for (size_t i = 0; i < impl.watches.size(); ++i) {
        if (impl.watches[i].budget.name != budget.name) continue;
        const Budget& known = impl.watches[i].budget;
        if (known.tags != budget.tags || known.window != budget.window ||
            known.hard != budget.hard || known.limit_usd != budget.limit_usd) {
          return absl::InvalidArgumentError(absl::StrCat(
              "budget \"", budget.name, "\" is already kept by this ledger with other terms"));
        }
        id = i;
      }
      if (id == impl.watches.size()) {
        BudgetWatch watch{budget};
        watch.window_key = Ledger::WindowKey(budget.window, impl.now());
        for (const auto& [day, groups] : impl.days) {
          if (Ledger::WindowKey(budget.window, day * 86'400'000) != watch.window_key) continue;
          for (const auto& [key, group] : groups) {
            if (TagsInclude(group.tags, budget.tags)) watch.settled += group.totals.cost.total;
          }
        }
        impl.watches.push_back(std::move(watch));
      }
      ids.push_back(id);
    }
    return ids;
  }

  // Admits a call with `tags` estimated to cost `estimate` (nullopt: cannot be priced), or
  // refuses it naming the first hard budget it would pass. `lease`: how long a Redis
  // reservation may outlive its process.
  static absl::StatusOr<Admission> Admit(Ledger& ledger, const std::vector<size_t>& ids,
                                         const CallTags& tags, std::optional<double> estimate,
                                         std::string_view model, bool allow_unpriced,
                                         std::chrono::milliseconds lease) {
    Ledger::Impl& impl = *ledger.impl_;
    Admission admission;
    if (impl.redis != nullptr) {
      std::vector<const Budget*> budgets;
      {
        std::lock_guard<std::mutex> lock(impl.mu);
        for (size_t id : ids) {
          const Budget& budget = impl.watches[id].budget;
          if (!TagsInclude(tags, budget.tags)) continue;
          if (budget.hard && !estimate && !allow_unpriced) return Unpriced(budget, model);
          admission.watches.push_back(id);
          budgets.push_back(&budget);  // Watches live in a deque: the address stays.
        }
      }
      if (budgets.empty()) return admission;
      admission.redis_id = ReservationId();
      admission.reserved = estimate.value_or(0);
      const int64_t now = impl.now();
      auto refused = impl.RedisAdmit(budgets, now, admission.reserved, admission.redis_id,
                                     now + lease.count());
      if (!refused.ok()) {
        if (!impl.redis_fail_open) {
          return absl::UnavailableError(absl::StrCat("budget check: ", refused.status().message()));
        }
        ++impl.backend_failures;
        return admission;
      }
      if (refused->has_value()) {
        return Refusal(*budgets[(*refused)->first], (*refused)->second, admission.reserved);
      }
      return admission;
    }
    std::lock_guard<std::mutex> lock(impl.mu);
    const int64_t now = impl.now();
    for (size_t id : ids) {
      BudgetWatch& watch = impl.watches[id];
      if (!TagsInclude(tags, watch.budget.tags)) continue;
      Roll(watch, now);
      admission.watches.push_back(id);
      if (!watch.budget.hard) continue;
      if (!estimate) {
        if (allow_unpriced) continue;
        return Unpriced(watch.budget, model);
      }
      const double held = watch.settled + watch.reserved;
      if (held + *estimate > watch.budget.limit_usd) {
        return Refusal(watch.budget, held, *estimate);
      }
    }
    admission.reserved = estimate.value_or(0);
    for (size_t id : admission.watches) impl.watches[id].reserved += admission.reserved;
    return admission;
  }

  // Releases the admission's reservation and records what the call cost (when `record` is
  // set). Returns the soft budgets this settlement pushed past their limit. A record that
  // cannot be written (file, Redis) is counted in backend_failures: the call keeps its answer.
  static std::vector<BudgetEvent> Settle(Ledger& ledger, const Admission& admission,
                                         const RecordRef* record) {
    Ledger::Impl& impl = *ledger.impl_;
    std::vector<BudgetEvent> events;
    if (impl.redis != nullptr) {
      std::vector<const Budget*> budgets;
      {
        std::lock_guard<std::mutex> lock(impl.mu);
        for (size_t id : admission.watches) budgets.push_back(&impl.watches[id].budget);
        if (record != nullptr) ++impl.records;
      }
      if (record == nullptr && budgets.empty()) return events;
      auto fired = impl.RedisSettle(budgets, impl.now(), admission.redis_id, record);
      if (!fired.ok()) {
        ++impl.backend_failures;
        return events;
      }
      for (const Ledger::Impl::Fired& f : *fired) {
        const Budget& budget = *budgets[f.index];
        events.push_back({budget.name, f.settled, budget.limit_usd, record->tags});
      }
      return events;
    }
    std::lock_guard<std::mutex> lock(impl.mu);
    for (size_t id : admission.watches) {
      BudgetWatch& watch = impl.watches[id];
      watch.reserved -= admission.reserved;
      if (std::fabs(watch.reserved) < 1e-12) watch.reserved = 0;
    }
    if (record == nullptr) return events;
    if (!impl.Append(*record).ok()) ++impl.backend_failures;
    impl.Apply(*record);  // Counted even when the file failed: the money is spent.
    for (size_t id : admission.watches) {
      BudgetWatch& watch = impl.watches[id];
      if (watch.budget.hard || watch.soft_fired || watch.settled <= watch.budget.limit_usd) {
        continue;
      }
      watch.soft_fired = true;
      events.push_back({watch.budget.name, watch.settled, watch.budget.limit_usd, record->tags});
    }
    return events;
  }

 private:
  static void Roll(BudgetWatch& watch, int64_t now) {
    const int64_t key = Ledger::WindowKey(watch.budget.window, now);
    if (key != watch.window_key) {
      watch.window_key = key;
      watch.settled = 0;
      watch.soft_fired = false;
    }
  }
};

namespace {

struct Shared {
  std::shared_ptr<const PriceTable> prices;
  std::shared_ptr<Ledger> ledger;
  std::vector<size_t> watches;
  BudgetOptions options;
};

absl::StatusOr<std::shared_ptr<Shared>> MakeShared(BudgetOptions options) {
  std::set<std::string> names;
  for (Budget& budget : options.budgets) {
    if (!std::isfinite(budget.limit_usd) || budget.limit_usd < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("budget \"", budget.name, "\": limit_usd must be finite and >= 0"));
    }
    if (budget.name.empty()) {
      std::vector<std::string> parts;
      for (const auto& [key, value] : budget.tags) parts.push_back(absl::StrCat(key, "=", value));
      budget.name = parts.empty() ? "all" : absl::StrJoin(parts, ",");
      budget.name += budget.window == BudgetWindow::kDay     ? "/day"
                     : budget.window == BudgetWindow::kMonth ? "/month"
                                                             : "";
    }
    if (!names.insert(budget.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("two budgets named \"", budget.name, "\""));
    }
  }
  if (options.default_max_output_tokens < 0) {
    return absl::InvalidArgumentError("default_max_output_tokens must be >= 0");
  }
  auto shared = std::make_shared<Shared>();
  shared->prices = options.prices != nullptr ? options.prices : PriceTable::Default();
  if (options.ledger != nullptr) {
    shared->ledger = options.ledger;
  } else {
    absl::StatusOr<std::shared_ptr<Ledger>> ledger = Ledger::Open();
    if (!ledger.ok()) return ledger.status();
    shared->ledger = *std::move(ledger);
  }
  absl::StatusOr<std::vector<size_t>> watches =
      BudgetKeeper::Register(*shared->ledger, options.budgets);
  if (!watches.ok()) return watches.status();
  shared->watches = *std::move(watches);
  shared->options = std::move(options);
  return shared;
}

int64_t CountTokens(const Shared& shared, std::string_view text) {
  if (shared.options.tokenizer != nullptr) {
    return static_cast<int64_t>(shared.options.tokenizer->CountValidUtf8(text));
  }
  return static_cast<int64_t>((text.size() + 3) / 4);
}

// Prompt tokens of `request` (chat.h's estimate, with the tokenizer when one is given).
int64_t PromptTokens(const Shared& shared, const ChatRequest& request) {
  return EstimatePromptTokens(request,
                              [&](std::string_view text) { return CountTokens(shared, text); });
}

std::optional<double> Estimate(const Shared& shared, std::string_view model, int64_t input,
                               int64_t output) {
  std::optional<PriceTable::Match> match = shared.prices->Find(model, shared.options.provider);
  if (!match) return std::nullopt;
  Usage usage;
  usage.input_tokens = input;
  usage.output_tokens = output;
  // The dearest way the output may be billed: as reasoning where that costs more.
  Cost cost = match->price->Price(usage);
  if (match->price->reasoning) {
    usage.reasoning_tokens = output;
    cost.total = std::max(cost.total, match->price->Price(usage).total);
  }
  return cost.total;
}

// What a response cache's hit saved: the replayed call's usage, priced (0 for anything else).
double SavedUsd(const Shared& shared, std::string_view model, const ChatResponse& response) {
  if (!response.cache_hit) return 0;
  return shared.prices->Price(model, response.saved_usage, shared.options.provider).total;
}

// Settles `admission` and fires the soft-limit events.
void Finish(const Shared& shared, const BudgetKeeper::Admission& admission,
            const RecordRef* record) {
  std::vector<BudgetEvent> events = BudgetKeeper::Settle(*shared.ledger, admission, record);
  for (const BudgetEvent& event : events) {
    if (shared.options.tracer != nullptr) {
      shared.options.tracer->AddCounter("llmkit.budget.soft_limits", 1,
                                        {{"llmkit.budget", event.budget}});
    }
    if (shared.options.on_soft_limit) shared.options.on_soft_limit(event);
  }
}

// Settles a call that failed. The tokens its provider calls had used (kPayloadSpent: a stream
// cut, a failed retry after the provider counted them) are billed, so they are priced and
// recorded like an answer's, and the error carries their cost (kPayloadSpentUsd).
absl::Status SettleFailure(const Shared& shared, const BudgetKeeper::Admission& admission,
                           std::string_view requested, const CallTags& tags, absl::Status status) {
  std::vector<SpentAttempt> spent = SpentOf(status);
  if (spent.empty()) {
    Finish(shared, admission, nullptr);
    return status;
  }
  Usage usage;
  Cost cost;
  for (const SpentAttempt& attempt : spent) {
    AddUsage(&usage, attempt.usage);
    cost += shared.prices->Price(attempt.model.empty() ? requested : attempt.model, attempt.usage,
                                 shared.options.provider);
  }
  const std::string model =
      spent.back().model.empty() ? std::string(requested) : spent.back().model;
  const RecordRef record{shared.ledger->NowUnixMs(), model, tags, usage, cost};
  Finish(shared, admission, &record);
  return WithPayload(std::move(status), kPayloadSpentUsd, absl::StrFormat("%.9f", cost.total));
}

// A refused admission, counted when a tracer is given.
absl::Status Refused(const Shared& shared, absl::Status status) {
  if (shared.options.tracer != nullptr && status.code() == absl::StatusCode::kResourceExhausted) {
    auto budget = status.GetPayload(internal::ToAbsl(kPayloadBudget));
    shared.options.tracer->AddCounter(
        "llmkit.budget.refusals", 1,
        {{"llmkit.budget", budget ? std::string(*budget) : std::string()}});
  }
  return status;
}

// How long a Redis reservation may outlive a process that died mid-call.
std::chrono::milliseconds Lease(const Shared& shared, const CallContext& call) {
  const std::chrono::milliseconds lease = shared.options.redis_lease;
  if (!call.has_deadline()) return lease;
  return std::max(lease, std::chrono::duration_cast<std::chrono::milliseconds>(call.Remaining()));
}

class BudgetedChatModel final : public ChatModel {
 public:
  BudgetedChatModel(std::shared_ptr<ChatModel> model, std::shared_ptr<Shared> shared)
      : model_(std::move(model)), shared_(std::move(shared)) {}

  absl::StatusOr<ChatResponse> Complete(const ChatRequest& request,
                                        const CallContext& call) override {
    return Run(request, call,
               [&](const CallContext& inner) { return model_->Complete(request, inner); });
  }

  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request, const StreamCallback& on_event,
                                      const CallContext& call) override {
    return Run(request, call,
               [&](const CallContext& inner) { return model_->Stream(request, on_event, inner); });
  }

 private:
  template <typename Send>
  absl::StatusOr<ChatResponse> Run(const ChatRequest& request, const CallContext& call,
                                   const Send& send) {
    const Shared& shared = *shared_;
    const int64_t max_output =
        request.max_tokens.value_or(shared.options.default_max_output_tokens);
    const std::string& requested =
        request.model.empty() ? shared.options.default_model : request.model;
    std::optional<BudgetKeeper::Admission> admission;
    if (!shared.watches.empty()) {
      absl::StatusOr<BudgetKeeper::Admission> admitted = BudgetKeeper::Admit(
          *shared.ledger, shared.watches, call.tags,
          Estimate(shared, requested, PromptTokens(shared, request), max_output), requested,
          shared.options.allow_unpriced, Lease(shared, call));
      if (!admitted.ok()) return Refused(shared, admitted.status());
      admission = *std::move(admitted);
    } else {
      admission.emplace();
    }
    absl::StatusOr<ChatResponse> response = send(call);
    if (!response.ok()) {
      return SettleFailure(shared, *admission, requested, call.tags, response.status());
    }
    const std::string& model = response->model.empty() ? requested : response->model;
    response->cost = shared.prices->Price(*response, shared.options.provider, requested);
    const RecordRef record{shared.ledger->NowUnixMs(),
                           model,
                           call.tags,
                           response->usage,
                           *response->cost,
                           response->cache_hit,
                           SavedUsd(shared, model, *response)};
    Finish(shared, *admission, &record);
    return response;
  }

  std::shared_ptr<ChatModel> model_;
  std::shared_ptr<Shared> shared_;
};

class BudgetedEmbeddingModel final : public EmbeddingModel {
 public:
  BudgetedEmbeddingModel(std::shared_ptr<EmbeddingModel> model, std::shared_ptr<Shared> shared)
      : model_(std::move(model)), shared_(std::move(shared)) {}

  absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs,
                                   const EmbedOptions& options, const CallContext& call) override {
    const Shared& shared = *shared_;
    const std::string& requested =
        options.model.empty() ? shared.options.default_model : options.model;
    std::optional<BudgetKeeper::Admission> admission;
    if (!shared.watches.empty()) {
      int64_t tokens = 0;
      for (const std::string& input : inputs) tokens += CountTokens(shared, input);
      absl::StatusOr<BudgetKeeper::Admission> admitted = BudgetKeeper::Admit(
          *shared.ledger, shared.watches, call.tags, Estimate(shared, requested, tokens, 0),
          requested, shared.options.allow_unpriced, Lease(shared, call));
      if (!admitted.ok()) return Refused(shared, admitted.status());
      admission = *std::move(admitted);
    } else {
      admission.emplace();
    }
    absl::StatusOr<Embeddings> result = model_->Embed(inputs, options, call);
    if (!result.ok()) {
      Finish(shared, *admission, nullptr);
      return result;
    }
    const std::string& model = result->model.empty() ? requested : result->model;
    Cost cost = shared.prices->Price(model, result->usage, shared.options.provider);
    result->cost = cost;
    const RecordRef record{shared.ledger->NowUnixMs(), model, call.tags, result->usage,
                           *result->cost};
    Finish(shared, *admission, &record);
    return result;
  }

 private:
  std::shared_ptr<EmbeddingModel> model_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ChatModel>> WithBudget(std::shared_ptr<ChatModel> model,
                                                      BudgetOptions options) {
  if (model == nullptr) return absl::InvalidArgumentError("WithBudget: model is null");
  absl::StatusOr<std::shared_ptr<Shared>> shared = MakeShared(std::move(options));
  if (!shared.ok()) return shared.status();
  return std::make_unique<BudgetedChatModel>(std::move(model), *std::move(shared));
}

absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithBudget(std::shared_ptr<EmbeddingModel> model,
                                                           BudgetOptions options) {
  if (model == nullptr) return absl::InvalidArgumentError("WithBudget: model is null");
  absl::StatusOr<std::shared_ptr<Shared>> shared = MakeShared(std::move(options));
  if (!shared.ok()) return shared.status();
  return std::make_unique<BudgetedEmbeddingModel>(std::move(model), *std::move(shared));
}

}  // namespace llmkit
