// WithTracing: a span per chat or embedding call with the GenAI attributes, and the token,
// duration and time-to-first-chunk metrics.

#include <chrono>
#include <deque>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "llmkit/observe.h"
#include "llmkit/status.h"
#include "observe/metrics.h"

namespace llmkit {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A call's metric attributes, in storage its thread reuses call after call (a nested traced
// call takes the next level): the keys and values are assigned into the strings already there
// instead of being allocated for every call. Used from other threads too while the call runs
// (a stream's callback may come from the transport's thread): the level's address is kept, and
// levels live in a deque, which never moves them.
class ReusedAttributes {
 public:
  ReusedAttributes() : depth_(Depth()++) {
    std::deque<Attributes>& levels = Levels();
    if (levels.size() <= depth_) levels.resize(depth_ + 1);
    attributes_ = &levels[depth_];
  }
  ~ReusedAttributes() { --Depth(); }  // On the thread that made it: the call's.
  ReusedAttributes(const ReusedAttributes&) = delete;
  ReusedAttributes& operator=(const ReusedAttributes&) = delete;

  void Add(std::string_view key, AttributeValue value) { Next(key) = std::move(value); }
  // A string value, assigned into the string already there when there is one.
  void AddString(std::string_view key, std::string_view value) {
    internal::AssignString(&Next(key), value);
  }
  // The attributes added so far (what was left from an earlier call beyond them dropped).
  const Attributes& get() {
    if (attributes_->size() > count_) attributes_->resize(count_);
    return *attributes_;
  }

 private:
  AttributeValue& Next(std::string_view key) {
    Attributes& a = *attributes_;
    if (count_ < a.size()) {
      a[count_].first.assign(key.data(), key.size());
    } else {
      a.emplace_back(std::string(key), AttributeValue());
    }
    return a[count_++].second;
  }
  static size_t& Depth() {
    thread_local size_t depth = 0;
    return depth;
  }
  static std::deque<Attributes>& Levels() {
    thread_local std::deque<Attributes> levels;
    return levels;
  }
  size_t depth_;
  Attributes* attributes_;
  size_t count_ = 0;
};

class TracedCall {
 public:
  TracedCall(Tracer& tracer, const TracingOptions& options, std::string_view operation,
             const std::string& model, const CallContext& call)
      : tracer_(tracer), operation_(operation) {
    const std::string& name = model.empty() ? options.default_model : model;
    named_ = !name.empty();
    // "chat gpt-4o", built where the last call built its own.
    thread_local std::string span_name;
    span_name.assign(operation.data(), operation.size());
    if (!name.empty()) span_name.append(" ").append(name);
    span_ = tracer.StartSpan(span_name, call.trace);
    start_ = span_.start_time();
    AddString("gen_ai.operation.name", operation);
    if (!options.provider.empty()) AddString("gen_ai.provider.name", options.provider);
    if (!name.empty()) AddString("gen_ai.request.model", name);
    if (!options.server_address.empty()) AddString("server.address", options.server_address);
    if (options.server_port > 0) {
      Add("server.port", static_cast<int64_t>(options.server_port));
    }
    if (!tracer.options().tag_attributes.empty()) {
      for (auto& [key, value] : tracer.TagAttributes(call)) Add(key, value);
    }
  }

  Span& span() { return span_; }
  // The answer's cost (a WithBudget or priced client inside): recorded by Response.
  void SetCost(const std::optional<Cost>& cost) { cost_ = cost ? &*cost : nullptr; }
  CallContext Child(const CallContext& call) const { return span_.ChildContext(call); }

  void FirstChunk() {
    if (first_chunk_) return;
    first_chunk_ = true;
    const double seconds = Seconds(Clock::now() - start_);
    span_.SetAttribute("gen_ai.response.time_to_first_chunk", seconds);
    tracer_.RecordTimeToFirstChunk(seconds, metric_attributes_.get());
  }

  void Response(const std::string& id, const std::string& model, const std::string& finish_reason,
                const Usage& usage) {
    if (!id.empty()) span_.SetStringAttribute("gen_ai.response.id", id);
    if (!model.empty()) {
      span_.SetStringAttribute("gen_ai.response.model", model);
      metric_attributes_.AddString("gen_ai.response.model", model);
      // A request that named no model (the client's default): the span takes the answer's.
      if (!named_) span_.SetName(absl::StrCat(internal::ToAbsl(operation_), " ", model));
    }
    if (!finish_reason.empty()) {
      span_.SetAttribute("gen_ai.response.finish_reasons", std::vector<std::string>{finish_reason});
    }
    span_.SetAttribute("gen_ai.usage.input_tokens", usage.input_tokens);
    span_.SetAttribute("gen_ai.usage.output_tokens", usage.output_tokens);
    if (usage.cached_input_tokens > 0) {
      span_.SetAttribute("gen_ai.usage.cache_read.input_tokens", usage.cached_input_tokens);
    }
    if (usage.cache_creation_input_tokens > 0) {
      span_.SetAttribute("gen_ai.usage.cache_creation.input_tokens",
                         usage.cache_creation_input_tokens);
    }
    if (usage.reasoning_tokens > 0) {
      span_.SetAttribute("gen_ai.usage.reasoning.output_tokens", usage.reasoning_tokens);
    }
    // The token and cost metrics go with the duration, in End.
    metrics_.input_tokens = usage.input_tokens;
    if (cost_ != nullptr) {
      span_.SetAttribute("llmkit.cost.usd", cost_->total);
      if (!cost_->priced) span_.SetAttribute("llmkit.cost.unpriced_model", cost_->unpriced_model);
      if (cost_->priced) metrics_.cost_usd = cost_->total;
    }
    if (usage.output_tokens > 0 || finish_reason.size() > 0) {
      metrics_.output_tokens = usage.output_tokens;
    }
  }

  // Ends the span and records the duration (with error.type when `status` failed).
  void End(const absl::Status& status) {
    if (!status.ok()) {
      const std::string type = ErrorType(status);
      span_.SetError(type, std::string(status.message()));
      metric_attributes_.Add("error.type", type);
    }
    const Clock::time_point end = Clock::now();
    metrics_.duration_seconds = Seconds(end - start_);
    tracer_.RecordCall(metrics_, metric_attributes_.get());
    span_.End(end);
  }

 private:
  Tracer& tracer_;
  Clock::time_point start_;
  std::string_view operation_;  // A literal.
  bool named_ = false;
  // An attribute of the span and of the metrics.
  void Add(std::string_view key, AttributeValue value) {
    span_.SetAttribute(key, value);
    metric_attributes_.Add(key, std::move(value));
  }
  void AddString(std::string_view key, std::string_view value) {
    span_.SetStringAttribute(key, value);
    metric_attributes_.AddString(key, value);
  }

  Span span_;
  ReusedAttributes metric_attributes_;
  bool first_chunk_ = false;
  const Cost* cost_ = nullptr;
  Tracer::CallMetrics metrics_;
};

// One message's parts as the conventions spell them ({"type": "text", "content": ...}, ...).
Json Parts(const Message& message) {
  Json parts = Json::MakeArray();
  auto text = [&](const std::string& content) {
    Json part = Json::MakeObject();
    part.Set("type", "text");
    part.Set("content", content);
    parts.push_back(std::move(part));
  };
  if (message.role == "tool") {
    Json part = Json::MakeObject();
    part.Set("type", "tool_call_response");
    part.Set("id", message.tool_call_id);
    part.Set("response", message.content);
    parts.push_back(std::move(part));
    return parts;
  }
  if (!message.content.empty()) text(message.content);
  for (const ContentPart& p : message.parts) {
    if (p.type == "image_url") {
      Json part = Json::MakeObject();
      part.Set("type", "uri");
      part.Set("modality", "image");
      part.Set("uri", p.image_url);
      parts.push_back(std::move(part));
    } else {
      text(p.text);
    }
  }
  for (const ToolCall& call : message.tool_calls) {
    Json part = Json::MakeObject();
    part.Set("type", "tool_call");
    part.Set("id", call.id);
    part.Set("name", call.name);
    absl::StatusOr<Json> arguments = Json::Parse(call.arguments);
    part.Set("arguments", arguments.ok() ? *std::move(arguments) : Json(call.arguments));
    parts.push_back(std::move(part));
  }
  return parts;
}

// gen_ai.system_instructions and gen_ai.input.messages of `request` (TracingOptions::
// record_content).
void InputContent(const ChatRequest& request, Span& span) {
  Json system = Json::MakeArray();
  Json input = Json::MakeArray();
  for (const Message& message : request.messages) {
    if (message.role == "system") {
      Json parts = Parts(message);
      for (Json& part : parts.as_array()) system.push_back(std::move(part));
      continue;
    }
    Json m = Json::MakeObject();
    m.Set("role", message.role);
    m.Set("parts", Parts(message));
    input.push_back(std::move(m));
  }
  if (system.size() > 0) span.SetAttribute("gen_ai.system_instructions", system.Dump());
  span.SetAttribute("gen_ai.input.messages", input.Dump());
}

void OutputContent(const ChatResponse& response, Span& span) {
  Json m = Json::MakeObject();
  m.Set("role", "assistant");
  m.Set("parts",
        Parts(response.message.role.empty() ? Message{.role = "assistant", .content = response.text}
                                            : response.message));
  m.Set("finish_reason", response.finish_reason);
  Json output = Json::MakeArray();
  output.push_back(std::move(m));
  span.SetAttribute("gen_ai.output.messages", output.Dump());
}

void RequestAttributes(const ChatRequest& request, bool stream, Span& span) {
  if (request.max_tokens) span.SetAttribute("gen_ai.request.max_tokens", *request.max_tokens);
  if (request.temperature) span.SetAttribute("gen_ai.request.temperature", *request.temperature);
  if (request.top_p) span.SetAttribute("gen_ai.request.top_p", *request.top_p);
  if (request.seed) span.SetAttribute("gen_ai.request.seed", *request.seed);
  if (!request.stop.empty()) span.SetAttribute("gen_ai.request.stop_sequences", request.stop);
  span.SetAttribute("gen_ai.request.stream", stream);
}

class TracedChatModel final : public ChatModel {
 public:
  TracedChatModel(std::shared_ptr<ChatModel> model, std::shared_ptr<Tracer> tracer,
                  TracingOptions options)
      : model_(std::move(model)), tracer_(std::move(tracer)), options_(std::move(options)) {}

  absl::StatusOr<ChatResponse> Complete(const ChatRequest& request,
                                        const CallContext& call) override {
    TracedCall traced(*tracer_, options_, "chat", request.model, call);
    RequestAttributes(request, /*stream=*/false, traced.span());
    if (options_.record_content) InputContent(request, traced.span());
    absl::StatusOr<ChatResponse> response = model_->Complete(request, traced.Child(call));
    if (response.ok()) {
      if (options_.record_content) OutputContent(*response, traced.span());
      traced.SetCost(response->cost);
      traced.Response(response->id, response->model, response->finish_reason, response->usage);
    }
    traced.End(response.status());
    return response;
  }

  absl::StatusOr<ChatResponse> Stream(const ChatRequest& request, const StreamCallback& on_event,
                                      const CallContext& call) override {
    TracedCall traced(*tracer_, options_, "chat", request.model, call);
    RequestAttributes(request, /*stream=*/true, traced.span());
    if (options_.record_content) InputContent(request, traced.span());
    absl::StatusOr<ChatResponse> response = model_->Stream(
        request,
        [&](const StreamEvent& event) {
          if (event.kind == StreamEvent::Kind::kTextDelta ||
              event.kind == StreamEvent::Kind::kToolCallDelta) {
            traced.FirstChunk();
          }
          return on_event(event);
        },
        traced.Child(call));
    if (response.ok()) {
      if (options_.record_content) OutputContent(*response, traced.span());
      traced.SetCost(response->cost);
      traced.Response(response->id, response->model, response->finish_reason, response->usage);
    }
    traced.End(response.status());
    return response;
  }

 private:
  std::shared_ptr<ChatModel> model_;
  std::shared_ptr<Tracer> tracer_;
  TracingOptions options_;
};

class TracedEmbeddingModel final : public EmbeddingModel {
 public:
  TracedEmbeddingModel(std::shared_ptr<EmbeddingModel> model, std::shared_ptr<Tracer> tracer,
                       TracingOptions options)
      : model_(std::move(model)), tracer_(std::move(tracer)), options_(std::move(options)) {}

  absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs,
                                   const EmbedOptions& options, const CallContext& call) override {
    TracedCall traced(*tracer_, options_, "embeddings", options.model, call);
    absl::StatusOr<Embeddings> result = model_->Embed(inputs, options, traced.Child(call));
    if (result.ok()) {
      traced.SetCost(result->cost);
      traced.Response("", result->model, "", Usage{.input_tokens = result->usage.input_tokens});
    }
    traced.End(result.status());
    return result;
  }

 private:
  std::shared_ptr<EmbeddingModel> model_;
  std::shared_ptr<Tracer> tracer_;
  TracingOptions options_;
};

}  // namespace

std::string ErrorType(const absl::Status& status) {
  if (auto http = status.GetPayload(internal::ToAbsl(kPayloadHttpStatus))) {
    return std::string(*http);
  }
  return absl::AsciiStrToLower(absl::StatusCodeToString(status.code()));
}

absl::StatusOr<std::unique_ptr<ChatModel>> WithTracing(std::shared_ptr<ChatModel> model,
                                                       std::shared_ptr<Tracer> tracer,
                                                       TracingOptions options) {
  if (model == nullptr || tracer == nullptr) {
    return absl::InvalidArgumentError("WithTracing: model and tracer must not be null");
  }
  return std::unique_ptr<ChatModel>(
      new TracedChatModel(std::move(model), std::move(tracer), std::move(options)));
}

absl::StatusOr<std::unique_ptr<EmbeddingModel>> WithTracing(std::shared_ptr<EmbeddingModel> model,
                                                            std::shared_ptr<Tracer> tracer,
                                                            TracingOptions options) {
  if (model == nullptr || tracer == nullptr) {
    return absl::InvalidArgumentError("WithTracing: model and tracer must not be null");
  }
  return std::unique_ptr<EmbeddingModel>(
      new TracedEmbeddingModel(std::move(model), std::move(tracer), std::move(options)));
}

}  // namespace llmkit
