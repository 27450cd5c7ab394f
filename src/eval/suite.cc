// Suite files: promptfoo's configuration format (YAML) read into an EvalSuite.

#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/files.h"
#include "eval/eval_impl.h"
#include "llmkit/anthropic.h"
#include "llmkit/eval.h"
#include "llmkit/openai.h"
#include "llmkit/prompt_registry.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"
#include "yaml-cpp/yaml.h"

namespace llmkit {

namespace internal::eval {
namespace {

// A plain (unquoted) scalar as YAML 1.2's core schema reads it.
Json PlainScalar(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return Json();
  }
  if (text == "true" || text == "True" || text == "TRUE") return Json(true);
  if (text == "false" || text == "False" || text == "FALSE") return Json(false);
  int64_t integer = 0;
  const bool digits = text.find_first_not_of("+-0123456789") == std::string::npos;
  if (digits && absl::SimpleAtoi(text, &integer)) return Json(integer);
  if (absl::StartsWith(text, "0x") && absl::SimpleHexAtoi(text.substr(2), &integer)) {
    return Json(integer);
  }
  if (text == ".inf" || text == ".Inf" || text == ".INF" || text == "+.inf") {
    return Json(std::numeric_limits<double>::infinity());
  }
  if (text == "-.inf" || text == "-.Inf" || text == "-.INF") {
    return Json(-std::numeric_limits<double>::infinity());
  }
  if (text == ".nan" || text == ".NaN" || text == ".NAN") {
    return Json(std::numeric_limits<double>::quiet_NaN());
  }
  double number = 0;
  const bool numeric = text.find_first_not_of("+-0123456789.eE") == std::string::npos &&
                       text.find_first_of("0123456789") != std::string::npos;
  if (numeric && absl::SimpleAtod(text, &number)) return Json(number);
  return Json(text);
}

// What one document may expand to: aliases repeat what they name, so ten nested lists of ten
// aliases each would be ten billion values (the "billion laughs").
struct Budget {
  size_t values = 0;
  size_t bytes = 0;
};
constexpr size_t kMaxValues = 1'000'000;
constexpr size_t kMaxBytes = size_t{64} << 20;

absl::StatusOr<Json> Convert(const YAML::Node& node, int depth, Budget& budget) {
  if (depth > 200) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", node.Mark().line + 1, ": YAML nested deeper than 200 levels"));
  }
  if (++budget.values > kMaxValues ||
      (node.IsScalar() && (budget.bytes += node.Scalar().size()) > kMaxBytes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", node.Mark().line + 1, ": the YAML expands to more than ", kMaxValues,
        " values or ", kMaxBytes >> 20, " MiB of text (aliases repeat what they name)"));
  }
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return Json();
    case YAML::NodeType::Scalar:
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return Json(node.Scalar());
      return PlainScalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      Json out = Json::MakeArray();
      for (const YAML::Node& item : node) {
        LLMKIT_ASSIGN_OR_RETURN(Json value, Convert(item, depth + 1, budget));
        out.push_back(std::move(value));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::MakeObject();
      for (const auto& item : node) {
        if (!item.first.IsScalar()) {
          return absl::InvalidArgumentError(
              absl::StrCat("line ", item.first.Mark().line + 1, ": a mapping key must be text"));
        }
        LLMKIT_ASSIGN_OR_RETURN(Json value, Convert(item.second, depth + 1, budget));
        out.Set(item.first.Scalar(), std::move(value));
      }
      return out;
    }
  }
  return Json();
}

}  // namespace

absl::StatusOr<Json> YamlToJson(std::string_view yaml) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    Budget budget;
    return Convert(root, 0, budget);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("YAML: line ", e.mark.line + 1, ", column ", e.mark.column + 1, ": ", e.msg));
  }
}

}  // namespace internal::eval

namespace {

using internal::eval::YamlToJson;

absl::Status Bad(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

std::string StringOr(const Json& object, std::string_view key, std::string fallback = {}) {
  const Json* value = object.Find(key);
  return value != nullptr && value->is_string() ? value->as_string() : fallback;
}

absl::Status CheckKeys(const Json& object, absl::string_view where,
                       std::initializer_list<absl::string_view> known) {
  for (const auto& [key, unused] : object.as_object()) {
    bool found = false;
    for (absl::string_view k : known) found = found || k == key;
    if (!found) {
      return Bad(where, absl::StrCat("\"", key, "\" is not supported (supported: ",
                                     absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

struct Context {
  std::string base_dir;
  const EvalSuiteOptions* options;
  std::unique_ptr<PromptRegistry> registry;
};

std::string Resolve(const Context& c, std::string_view file) {
  std::filesystem::path path(file);
  if (path.is_relative() && !c.base_dir.empty()) path = std::filesystem::path(c.base_dir) / path;
  return path.string();
}

absl::StatusOr<std::string> ReadPromptFile(const Context& c, absl::string_view file,
                                           absl::string_view where) {
  absl::StatusOr<std::string> text = internal::ReadFile(Resolve(c, internal::ToStd(file)));
  if (!text.ok())
    return Bad(where, absl::StrCat("cannot read ", file, ": ", text.status().message()));
  return text;
}

// "registry:name@label" (label default "latest"; "name@3" a version number).
absl::StatusOr<EvalPrompt> RegistryPrompt(Context& c, std::string_view spec, std::string where) {
  if (c.registry == nullptr) {
    std::string dir = c.options->registry_dir;
    if (dir.empty()) dir = Env("LLMKIT_PROMPTS");
    if (dir.empty()) dir = Resolve(c, "prompts");
    absl::StatusOr<std::unique_ptr<PromptRegistry>> registry = PromptRegistry::Open(dir);
    if (!registry.ok()) {
      return Bad(where,
                 absl::StrCat("the prompt registry ", dir, ": ", registry.status().message()));
    }
    c.registry = *std::move(registry);
  }
  std::string name(spec), label = "latest";
  if (size_t at = spec.rfind('@'); at != std::string_view::npos) {
    name = std::string(spec.substr(0, at));
    label = std::string(spec.substr(at + 1));
  }
  int version = 0;
  absl::StatusOr<PromptVersion> found = absl::SimpleAtoi(label, &version)
                                            ? c.registry->GetVersion(name, version)
                                            : c.registry->Get(name, label);
  if (!found.ok()) return Bad(where, found.status().message());
  EvalPrompt prompt;
  prompt.label = absl::StrCat(name, "@", label, " (v", found->version, ")");
  prompt.text = found->body;
  prompt.format = found->format;
  return prompt;
}

// One entry of `prompts`: inline text, file://PATH (a .txt may hold several, split by "---"
// lines), registry:NAME@LABEL, or {raw | id, label}.
absl::Status AddPrompt(Context& c, const Json& entry, const std::string& where,
                       std::vector<EvalPrompt>* out) {
  std::string text, label;
  if (entry.is_string()) {
    text = entry.as_string();
  } else if (entry.is_object()) {
    LLMKIT_RETURN_IF_ERROR(CheckKeys(entry, where, {"raw", "id", "label"}));
    text = StringOr(entry, "raw", StringOr(entry, "id"));
    label = StringOr(entry, "label");
    if (text.empty()) return Bad(where, "a prompt object needs \"raw\" or \"id\"");
  } else {
    return Bad(where, "a prompt is text, file://PATH, registry:NAME@LABEL or {raw, label}");
  }
  if (absl::StartsWith(text, "registry:")) {
    LLMKIT_ASSIGN_OR_RETURN(EvalPrompt prompt, RegistryPrompt(c, text.substr(9), where));
    if (!label.empty()) prompt.label = label;
    out->push_back(std::move(prompt));
    return absl::OkStatus();
  }
  if (absl::StartsWith(text, "file://")) {
    const std::string file = text.substr(7);
    if (absl::StrContains(file, ':')) {
      return Bad(where, absl::StrCat(file, ": prompt functions (file.py:name) are not supported"));
    }
    LLMKIT_ASSIGN_OR_RETURN(std::string body, ReadPromptFile(c, file, where));
    std::vector<std::string> parts = {body};
    if (!absl::EndsWith(file, ".json")) {
      parts = absl::StrSplit(body, "\n---\n");
    }
    for (size_t i = 0; i < parts.size(); ++i) {
      EvalPrompt prompt;
      prompt.text = parts[i];
      prompt.label =
          label.empty() ? (parts.size() == 1 ? file : absl::StrCat(file, ": ", i + 1)) : label;
      out->push_back(std::move(prompt));
    }
    return absl::OkStatus();
  }
  EvalPrompt prompt;
  prompt.text = text;
  prompt.label = label.empty() ? text.substr(0, 60) : label;
  out->push_back(std::move(prompt));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<ChatModel>> NewEvalModel(const std::string& id, const Json& config,
                                                        std::string* model_name) {
  if (!config.is_object()) return absl::InvalidArgumentError("a provider's config is a mapping");
  std::string unused;
  if (model_name == nullptr) model_name = &unused;
  std::vector<std::string> parts = absl::StrSplit(id, absl::MaxSplits(':', 2));
  const std::string kind = parts[0];
  std::string model;
  if (parts.size() == 3 && ((kind == "openai" && parts[1] == "chat") ||
                            (kind == "anthropic" && parts[1] == "messages"))) {
    model = parts[2];
  } else if (parts.size() == 2 && (kind == "openai" || kind == "anthropic")) {
    model = parts[1];
  } else if (parts.size() >= 2 && (kind == "openai" || kind == "anthropic")) {
    model = absl::StrJoin(std::vector<std::string>(parts.begin() + 1, parts.end()), ":");
  }
  if (model.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "provider \"", id,
        "\": llmkit makes openai:chat:MODEL, openai:MODEL, anthropic:messages:MODEL and "
        "anthropic:MODEL providers (others through EvalSuiteOptions::make_model)"));
  }
  if (kind == "openai" && (parts[1] == "embedding" || parts[1] == "embeddings" ||
                           parts[1] == "completion" || parts[1] == "assistant")) {
    return absl::InvalidArgumentError(
        absl::StrCat("provider \"", id, "\": only chat models can be evaluated"));
  }
  *model_name = model;
  std::string key = StringOr(config, "apiKey");
  if (std::string envar = StringOr(config, "apiKeyEnvar"); key.empty() && !envar.empty()) {
    key = Env(envar.c_str());
  }
  std::string base = StringOr(config, "apiBaseUrl", StringOr(config, "baseUrl"));
  if (std::string host = StringOr(config, "apiHost"); base.empty() && !host.empty()) {
    base = absl::StrCat("https://", host, "/v1");
  }
  std::shared_ptr<ChatModel> client;
  if (kind == "openai") {
    OpenAIOptions options;
    options.base_url = base.empty() ? Env("OPENAI_API_BASE_URL") : base;      // promptfoo's names,
    if (options.base_url.empty()) options.base_url = Env("OPENAI_BASE_URL");  // then the SDK's.
    options.api_key = key;
    options.model = model;
    options.organization = StringOr(config, "organization");
    LLMKIT_ASSIGN_OR_RETURN(client, NewOpenAIClient(options));
  } else {
    AnthropicOptions options;
    options.base_url = base;
    options.api_key = key;
    options.model = model;
    LLMKIT_ASSIGN_OR_RETURN(client, NewAnthropicClient(options));
  }
  LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<ChatModel> retried, WithRetry(std::move(client)));
  return std::shared_ptr<ChatModel>(std::move(retried));
}

namespace {

// Request settings from a provider's config; the connection keys are the maker's; anything else
// goes into the request body as it is (as promptfoo passes the provider's own options on).
absl::Status ApplyConfig(const Json& config, const std::string& where, ChatRequest* request) {
  for (const Json::Member& member : config.as_object()) {
    const std::string& key = member.first;
    const Json& value = member.second;
    auto number = [&]() -> absl::StatusOr<double> {
      if (!value.is_number()) return Bad(where, absl::StrCat("config.", key, " must be a number"));
      return value.as_double();
    };
    if (key == "apiKey" || key == "apiKeyEnvar" || key == "apiBaseUrl" || key == "baseUrl" ||
        key == "apiHost" || key == "organization") {
      continue;
    } else if (key == "temperature") {
      LLMKIT_ASSIGN_OR_RETURN(request->temperature, number());
    } else if (key == "top_p") {
      LLMKIT_ASSIGN_OR_RETURN(request->top_p, number());
    } else if (key == "max_tokens") {
      if (!value.is_int()) return Bad(where, "config.max_tokens must be an integer");
      request->max_tokens = value.as_int();
    } else if (key == "seed") {
      if (!value.is_int()) return Bad(where, "config.seed must be an integer");
      request->seed = value.as_int();
    } else if (key == "stop") {
      if (value.is_string()) {
        request->stop = {value.as_string()};
      } else if (value.is_array()) {
        for (const Json& s : value.as_array()) {
          if (!s.is_string()) return Bad(where, "config.stop must be text or a list of text");
          request->stop.push_back(s.as_string());
        }
      }
    } else if (key == "response_format") {
      request->response_format = value;
    } else {
      if (request->extra.is_null()) request->extra = Json::MakeObject();
      request->extra.Set(key, value);
    }
  }
  return absl::OkStatus();
}

absl::Status AddProvider(const Context& c, const Json& entry, const std::string& where,
                         std::vector<EvalProvider>* out) {
  EvalProvider provider;
  Json config = Json::MakeObject();
  if (entry.is_string()) {
    provider.id = entry.as_string();
  } else if (entry.is_object() && entry.Find("id") != nullptr) {
    LLMKIT_RETURN_IF_ERROR(CheckKeys(entry, where, {"id", "label", "config"}));
    provider.id = StringOr(entry, "id");
    provider.label = StringOr(entry, "label");
    if (const Json* cfg = entry.Find("config"); cfg != nullptr && !cfg->is_null()) config = *cfg;
  } else if (entry.is_object() && entry.size() == 1) {  // {"openai:chat:x": {config, label}}
    const auto& [id, options] = entry.as_object()[0];
    provider.id = id;
    if (options.is_object()) {
      LLMKIT_RETURN_IF_ERROR(CheckKeys(options, where, {"id", "label", "config"}));
      provider.label = StringOr(options, "label");
      if (const Json* cfg = options.Find("config"); cfg != nullptr && !cfg->is_null()) {
        config = *cfg;
      }
    }
  } else {
    return Bad(where, "a provider is an id (openai:chat:MODEL) or {id, label, config}");
  }
  if (!config.is_object()) return Bad(where, "config must be a mapping");
  if (provider.id.empty()) return Bad(where, "a provider needs an id");
  if (provider.label.empty()) provider.label = provider.id;
  LLMKIT_RETURN_IF_ERROR(ApplyConfig(config, where, &provider.defaults));
  absl::StatusOr<std::shared_ptr<ChatModel>> model;
  if (c.options->make_model) {
    model = c.options->make_model(provider.id, config);
    std::vector<std::string> parts = absl::StrSplit(provider.id, ':');
    provider.model_name = parts.back();
  } else {
    model = NewEvalModel(provider.id, config, &provider.model_name);
  }
  if (!model.ok()) return Bad(where, model.status().message());
  if (*model == nullptr) return Bad(where, absl::StrCat("no model for \"", provider.id, "\""));
  provider.model = *std::move(model);
  out->push_back(std::move(provider));
  return absl::OkStatus();
}

absl::StatusOr<EvalAssertion> ParseAssertion(const Json& entry, const std::string& where) {
  if (!entry.is_object()) return Bad(where, "an assertion is a mapping with a type");
  LLMKIT_RETURN_IF_ERROR(
      CheckKeys(entry, where, {"type", "value", "threshold", "weight", "metric", "provider"}));
  EvalAssertion a;
  std::string type = StringOr(entry, "type");
  if (type.empty()) return Bad(where, "an assertion needs a type");
  if (absl::StartsWith(type, "not-")) {
    a.negate = true;
    type = type.substr(4);
  }
  a.type = type;
  if (const Json* value = entry.Find("value")) a.value = *value;
  if (const Json* threshold = entry.Find("threshold"); threshold != nullptr) {
    if (!threshold->is_number()) return Bad(where, "threshold must be a number");
    a.threshold = threshold->as_double();
  }
  if (const Json* weight = entry.Find("weight"); weight != nullptr) {
    if (!weight->is_number() || !(weight->as_double() >= 0)) {
      return Bad(where, "weight must be a number >= 0");
    }
    a.weight = weight->as_double();
  }
  a.metric = StringOr(entry, "metric");
  if (entry.Find("provider") != nullptr) {
    return Bad(where,
               "a per-assertion provider is not supported (set defaultTest.options.provider)");
  }
  if (a.type == "javascript" || a.type == "python" || a.type == "webhook") {
    return Bad(where, absl::StrCat("\"", a.type,
                                   "\" assertions run code llmkit does not embed; register a "
                                   "custom assertion (EvalOptions::custom) under a name of yours"));
  }
  return a;
}

struct TestSpec {
  std::string description;
  Json vars = Json::MakeObject();
  std::vector<EvalAssertion> asserts;
  std::optional<double> threshold;
  std::string grader;  // options.provider
};

absl::StatusOr<TestSpec> ParseTest(const Context& c, const Json& entry, const std::string& where) {
  if (!entry.is_object()) return Bad(where, "a test is a mapping (vars, assert, ...)");
  LLMKIT_RETURN_IF_ERROR(
      CheckKeys(entry, where, {"description", "vars", "assert", "threshold", "options"}));
  TestSpec t;
  t.description = StringOr(entry, "description");
  if (const Json* vars = entry.Find("vars"); vars != nullptr && !vars->is_null()) {
    if (!vars->is_object()) return Bad(where, "vars must be a mapping");
    t.vars = *vars;
    for (const auto& [key, value] : t.vars.as_object()) {
      if (value.is_string() && absl::StartsWith(value.as_string(), "file://")) {
        LLMKIT_ASSIGN_OR_RETURN(
            std::string text,
            ReadPromptFile(c, value.as_string().substr(7), absl::StrCat(where, ".vars.", key)));
        const_cast<Json&>(value) = Json(std::move(text));
      }
    }
  }
  if (const Json* asserts = entry.Find("assert"); asserts != nullptr && !asserts->is_null()) {
    if (!asserts->is_array()) return Bad(where, "assert must be a list");
    for (size_t i = 0; i < asserts->size(); ++i) {
      LLMKIT_ASSIGN_OR_RETURN(
          EvalAssertion a,
          ParseAssertion(asserts->as_array()[i], absl::StrCat(where, ".assert[", i, "]")));
      t.asserts.push_back(std::move(a));
    }
  }
  if (const Json* threshold = entry.Find("threshold"); threshold != nullptr) {
    if (!threshold->is_number()) return Bad(where, "threshold must be a number");
    t.threshold = threshold->as_double();
  }
  if (const Json* options = entry.Find("options"); options != nullptr && !options->is_null()) {
    if (!options->is_object()) return Bad(where, "options must be a mapping");
    LLMKIT_RETURN_IF_ERROR(CheckKeys(*options, absl::StrCat(where, ".options"), {"provider"}));
    const Json* provider = options->Find("provider");
    if (provider != nullptr && provider->is_string()) {
      t.grader = provider->as_string();
    } else if (provider != nullptr && provider->is_object()) {
      t.grader = StringOr(*provider, "id");
    }
  }
  return t;
}

// A test whose vars hold lists runs once per combination (promptfoo's expansion), in order.
void Expand(const TestSpec& spec, std::vector<EvalTest>* out) {
  std::vector<Json> combos = {Json::MakeObject()};
  for (const auto& [key, value] : spec.vars.as_object()) {
    std::vector<Json> next;
    if (value.is_array() && value.size() > 0) {
      for (const Json& combo : combos) {
        for (const Json& item : value.as_array()) {
          Json v = combo;
          v.Set(key, item);
          next.push_back(std::move(v));
        }
      }
    } else {
      for (Json combo : combos) {
        combo.Set(key, value);
        next.push_back(std::move(combo));
      }
    }
    combos = std::move(next);
  }
  for (Json& vars : combos) {
    EvalTest test;
    test.description = spec.description;
    if (combos.size() > 1) {
      std::vector<std::string> shown;
      for (const auto& [key, value] : vars.as_object()) {
        const Json* listed = spec.vars.Find(key);
        if (listed == nullptr || !listed->is_array() || listed->size() == 0) continue;
        shown.push_back(
            absl::StrCat(key, "=", value.is_string() ? value.as_string() : value.Dump()));
      }
      test.description = absl::StrCat(spec.description.empty() ? "" : spec.description + " ", "[",
                                      absl::StrJoin(shown, ", "), "]");
    }
    test.vars = std::move(vars);
    test.asserts = spec.asserts;
    test.threshold = spec.threshold;
    out->push_back(std::move(test));
  }
}

}  // namespace

absl::StatusOr<EvalSuite> ParseEvalSuite(std::string_view yaml, const std::string& base_dir,
                                         const EvalSuiteOptions& options) {
  LLMKIT_ASSIGN_OR_RETURN(Json root, YamlToJson(yaml));
  if (!root.is_object())
    return Bad("suite", "the file must be a mapping (prompts, providers, tests)");
  LLMKIT_RETURN_IF_ERROR(
      CheckKeys(root, "suite",
                {"description", "prompts", "providers", "tests", "defaultTest", "$schema",
                 "sharing", "tags", "metadata", "outputPath", "writeLatestResults"}));
  Context c{base_dir, &options, nullptr};
  EvalSuite suite;
  suite.description = StringOr(root, "description");

  const Json* prompts = root.Find("prompts");
  if (prompts == nullptr || prompts->is_null()) return Bad("prompts", "a suite needs prompts");
  const std::vector<Json> prompt_list =
      prompts->is_array() ? prompts->as_array() : std::vector<Json>{*prompts};
  for (size_t i = 0; i < prompt_list.size(); ++i) {
    LLMKIT_RETURN_IF_ERROR(
        AddPrompt(c, prompt_list[i], absl::StrCat("prompts[", i, "]"), &suite.prompts));
  }

  const Json* providers = root.Find("providers");
  if (providers == nullptr || providers->is_null())
    return Bad("providers", "a suite needs providers");
  const std::vector<Json> provider_list =
      providers->is_array() ? providers->as_array() : std::vector<Json>{*providers};
  for (size_t i = 0; i < provider_list.size(); ++i) {
    LLMKIT_RETURN_IF_ERROR(
        AddProvider(c, provider_list[i], absl::StrCat("providers[", i, "]"), &suite.providers));
  }

  TestSpec defaults;
  if (const Json* d = root.Find("defaultTest"); d != nullptr && !d->is_null()) {
    LLMKIT_ASSIGN_OR_RETURN(defaults, ParseTest(c, *d, "defaultTest"));
  }
  if (!defaults.grader.empty()) {
    std::vector<EvalProvider> graders;
    LLMKIT_RETURN_IF_ERROR(
        AddProvider(c, Json(defaults.grader), "defaultTest.options.provider", &graders));
    suite.grader = graders[0].model;
    suite.grader_model = graders[0].model_name;
  }
  Json tests = Json::MakeArray();
  if (const Json* t = root.Find("tests"); t != nullptr && !t->is_null()) {
    if (t->is_string() && absl::StartsWith(t->as_string(), "file://")) {
      const std::string file = t->as_string().substr(7);
      if (!absl::EndsWith(file, ".yaml") && !absl::EndsWith(file, ".yml") &&
          !absl::EndsWith(file, ".json")) {
        return Bad("tests", absl::StrCat(file, ": test files are read from YAML or JSON"));
      }
      LLMKIT_ASSIGN_OR_RETURN(std::string text, ReadPromptFile(c, file, "tests"));
      LLMKIT_ASSIGN_OR_RETURN(tests, YamlToJson(text));
    } else {
      tests = *t;
    }
    if (!tests.is_array()) return Bad("tests", "tests must be a list (or file://tests.yaml)");
  }
  if (tests.size() == 0) tests.push_back(Json::MakeObject());  // promptfoo runs one empty test.
  for (size_t i = 0; i < tests.size(); ++i) {
    const std::string where = absl::StrCat("tests[", i, "]");
    LLMKIT_ASSIGN_OR_RETURN(TestSpec spec, ParseTest(c, tests.as_array()[i], where));
    // defaultTest: its vars under the test's, its assertions before the test's.
    Json vars = defaults.vars;
    for (const auto& [key, value] : spec.vars.as_object()) vars.Set(key, value);
    spec.vars = std::move(vars);
    std::vector<EvalAssertion> asserts = defaults.asserts;
    asserts.insert(asserts.end(), spec.asserts.begin(), spec.asserts.end());
    spec.asserts = std::move(asserts);
    if (!spec.threshold) spec.threshold = defaults.threshold;
    if (spec.description.empty()) spec.description = absl::StrCat("test ", i + 1);
    if (!spec.grader.empty()) {
      return Bad(where, "options.provider is read from defaultTest only (one grader per suite)");
    }
    Expand(spec, &suite.tests);
  }
  return suite;
}

absl::StatusOr<EvalSuite> LoadEvalSuite(const std::string& path, const EvalSuiteOptions& options) {
  absl::StatusOr<std::string> text = internal::ReadFile(path);
  if (!text.ok()) return text.status();
  std::string dir = std::filesystem::path(path).parent_path().string();
  absl::StatusOr<EvalSuite> suite = ParseEvalSuite(*text, dir, options);
  if (!suite.ok()) {
    return absl::Status(suite.status().code(), absl::StrCat(path, ": ", suite.status().message()));
  }
  return suite;
}

}  // namespace llmkit
