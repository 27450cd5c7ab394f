// Python bindings of the model clients: OpenAIClient (chat, stream, embed) and AnthropicClient
// (chat, stream), and the resilience decorators (with_retry, with_fallback, with_circuit_breaker,
// with_rate_limit, with_hedging) that return a ChatModel with the same methods. Messages and tools
// are OpenAI-style dicts; answers are ChatResponse objects; embeddings come back as a float32
// numpy array. Network waits release the GIL and Ctrl-C cancels the request.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "call_conversion.h"
#include "client_access.h"
#include "interrupt.h"
#include "json_conversion.h"
#include "llmkit/anthropic.h"
#include "llmkit/embeddings.h"
#include "llmkit/guard.h"
#include "llmkit/openai.h"
#include "llmkit/resilience.h"
#include "llmkit/structured.h"
#include "status_conversion.h"
#include "tokenizer_conversion.h"

namespace py = pybind11;

namespace llmkit::python {

PiiOptions ToPiiOptions(
    const std::optional<std::vector<std::string>>& kinds,
    const std::optional<std::vector<std::string>>& phone_regions);  // guard_bindings.cc
namespace {

std::string StrAt(const Json& object, std::string_view key) {
  const Json* v = object.Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

absl::Status BadMessage(size_t index, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("messages[", index, "]: ", absl::string_view(what.data(), what.size())));
}

}  // namespace

Message ToMessage(const Json& m, size_t index) {
  if (!m.is_object()) throw StatusError(BadMessage(index, "expected a dict"));
  Message out;
  out.role = StrAt(m, "role");
  if (out.role.empty()) throw StatusError(BadMessage(index, "no role"));
  if (const Json* content = m.Find("content"); content != nullptr) {
    if (content->is_string()) {
      out.content = content->as_string();
    } else if (content->is_array()) {
      for (const Json& part : content->as_array()) {
        ContentPart p;
        p.type = StrAt(part, "type");
        if (p.type == "image_url") {
          const Json* url = part.Find("image_url");
          p.image_url =
              url != nullptr && url->is_object() ? StrAt(*url, "url") : StrAt(part, "image_url");
        } else if (p.type == "text") {
          p.text = StrAt(part, "text");
        } else {
          throw StatusError(BadMessage(index, "content parts are \"text\" or \"image_url\""));
        }
        out.parts.push_back(std::move(p));
      }
    } else if (!content->is_null()) {
      throw StatusError(BadMessage(index, "content must be str, None or a list of parts"));
    }
  }
  if (const Json* calls = m.Find("tool_calls"); calls != nullptr && calls->is_array()) {
    for (const Json& call : calls->as_array()) {
      ToolCall c;
      c.id = StrAt(call, "id");
      const Json* f = call.Find("function");
      const Json& fields = f != nullptr ? *f : call;
      c.name = StrAt(fields, "name");
      c.arguments = StrAt(fields, "arguments");
      out.tool_calls.push_back(std::move(c));
    }
  }
  out.tool_call_id = StrAt(m, "tool_call_id");
  return out;
}

namespace {

// {"type": "function", "function": {...}} or the inner {"name", "description", "parameters"}.
ToolSpec ToTool(const Json& t) {
  const Json* f = t.Find("function");
  const Json& fields = f != nullptr ? *f : t;
  ToolSpec spec;
  spec.name = StrAt(fields, "name");
  if (spec.name.empty()) throw StatusError(absl::InvalidArgumentError("a tool has no name"));
  spec.description = StrAt(fields, "description");
  if (const Json* p = fields.Find("parameters"); p != nullptr) spec.parameters = *p;
  if (const Json* p = fields.Find("input_schema"); p != nullptr) spec.parameters = *p;
  return spec;
}

}  // namespace

py::dict MessageDict(const Message& m) {
  py::dict out;
  out["role"] = m.role;
  out["content"] = m.content.empty() && !m.tool_calls.empty() ? py::object(py::none())
                                                              : py::object(py::str(m.content));
  if (!m.tool_calls.empty()) {
    py::list calls;
    for (const ToolCall& call : m.tool_calls) {
      py::dict function;
      function["name"] = call.name;
      function["arguments"] = call.arguments;
      py::dict c;
      c["id"] = call.id;
      c["type"] = "function";
      c["function"] = function;
      calls.append(c);
    }
    out["tool_calls"] = calls;
  }
  return out;
}

namespace {

struct ChatArgs {
  py::list messages;
  std::optional<std::string> model;
  std::optional<double> temperature, top_p;
  std::optional<int64_t> max_tokens, seed;
  std::optional<std::vector<std::string>> stop;
  py::object tools, tool_choice, response_format, extra;
};

ChatRequest ToRequest(const ChatArgs& a) {
  ChatRequest r;
  size_t i = 0;
  for (const py::handle& m : a.messages) r.messages.push_back(ToMessage(PythonToJson(m), i++));
  if (a.model) r.model = *a.model;
  r.temperature = a.temperature;
  r.top_p = a.top_p;
  r.max_tokens = a.max_tokens;
  r.seed = a.seed;
  if (a.stop) r.stop = *a.stop;
  if (!a.tools.is_none()) {
    for (const py::handle& t : a.tools) r.tools.push_back(ToTool(PythonToJson(t)));
  }
  if (!a.tool_choice.is_none()) r.tool_choice = PythonToJson(a.tool_choice);
  if (!a.response_format.is_none()) r.response_format = PythonToJson(a.response_format);
  if (!a.extra.is_none()) r.extra = PythonToJson(a.extra);
  return r;
}

// A call running on a worker thread that hands out items as it goes (stream events, partial
// values) and a result at the end. Python takes the items one by one with the GIL released while
// waiting; Ctrl-C or close() cancels the call.
template <typename Item, typename Result>
class WorkerStream {
 public:
  // Queues an item for Python; returns true (the call goes on).
  using Push = std::function<bool(Item)>;

  // Runs `run(push, call)` on a worker thread; `call` carries this stream's cancellation.
  template <typename Run>
  WorkerStream(CallContext call, Run run) : cancellation_(std::make_shared<Cancellation>()) {
    call.cancellation = cancellation_;
    worker_ = std::thread([this, call = std::move(call), run = std::move(run)]() mutable {
      absl::StatusOr<Result> result = run(
          [this](Item item) {
            std::lock_guard<std::mutex> lock(mu_);
            items_.push_back(std::move(item));
            cv_.notify_one();
            return true;
          },
          call);
      std::lock_guard<std::mutex> lock(mu_);
      result_ = std::move(result);
      cv_.notify_one();
    });
  }
  ~WorkerStream() { Close(); }

  // Stops the call (if still running) and waits for the worker. GIL released while waiting.
  void Close() {
    if (!worker_.joinable()) return;
    cancellation_->Cancel();
    py::gil_scoped_release release;
    worker_.join();
  }

  // The next item; StopIteration once the call has ended, or its error.
  Item Next() {
    while (true) {
      std::optional<Item> item;
      bool ended = false;
      {
        py::gil_scoped_release release;
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(100),
                     [&] { return !items_.empty() || result_.has_value(); });
        if (!items_.empty()) {
          item = std::move(items_.front());
          items_.pop_front();
        } else {
          ended = result_.has_value();
        }
      }
      if (item) return *std::move(item);
      if (ended) break;
      if (PyErr_CheckSignals() != 0) {
        Close();
        throw py::error_already_set();
      }
    }
    Close();
    if (!result_->ok()) throw StatusError(result_->status());
    throw py::stop_iteration();
  }

  // The result once the call has ended (its error raised).
  const Result& Finished() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!result_.has_value()) {
        ThrowIfError(absl::FailedPreconditionError("the stream has not ended yet"));
      }
    }
    Close();
    if (!result_->ok()) throw StatusError(result_->status());
    return **result_;
  }

 private:
  std::shared_ptr<Cancellation> cancellation_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;                        // Guarded by mu_.
  std::optional<absl::StatusOr<Result>> result_;  // Guarded by mu_ until joined.
  std::thread worker_;
};

// A streamed chat answer: the events, then .response.
class ChatStream {
 public:
  ChatStream(std::shared_ptr<ChatModel> model, ChatRequest request, CallContext call)
      : stream_(std::move(call), [model = std::move(model), request = std::move(request)](
                                     const WorkerStream<StreamEvent, ChatResponse>::Push& push,
                                     const CallContext& call) {
          return model->Stream(
              request, [&push](const StreamEvent& event) { return push(event); }, call);
        }) {}

  void Close() { stream_.Close(); }
  StreamEvent Next() { return stream_.Next(); }
  // The final response once the stream has ended.
  const ChatResponse& response() { return stream_.Finished(); }

 private:
  WorkerStream<StreamEvent, ChatResponse> stream_;
};

// The Python-facing client: a chat model and, for OpenAI-compatible servers, an embedding model.
struct Client {
  std::shared_ptr<ChatModel> chat;
  std::shared_ptr<EmbeddingModel> embeddings;
  std::string model;  // The model a request naming none goes to, when known.
};
// One C++ type per Python class (pybind11 registers a type once).
struct PyOpenAIClient : Client {};
struct PyAnthropicClient : Client {};
struct PyChatModel : Client {};  // A decorated model (with_retry, ...): chat and stream.

// `client` priced by `prices` (a llmkit.PriceTable, or None: as it is): every response then
// carries its cost.
Client Priced(Client client, const py::object& prices, const char* provider,
              const std::string& embedding_model = "") {
  std::shared_ptr<const PriceTable> table = PriceTableOf(prices);
  if (table == nullptr) return client;
  BudgetOptions options;
  options.prices = table;
  options.provider = provider;
  options.ledger = ValueOrThrow(Ledger::Open());
  options.default_model = client.model;
  client.chat = std::shared_ptr<ChatModel>(ValueOrThrow(WithBudget(client.chat, options)));
  if (client.embeddings != nullptr) {
    options.default_model = embedding_model;
    client.embeddings =
        std::shared_ptr<EmbeddingModel>(ValueOrThrow(WithBudget(client.embeddings, options)));
  }
  return client;
}

ChatResponse Chat(Client& client, const ChatArgs& args, CallContext call) {
  ChatRequest request = ToRequest(args);
  std::shared_ptr<ChatModel> model = client.chat;
  return ValueOrThrow(RunInterruptible([&](std::shared_ptr<Cancellation> cancellation) {
    call.cancellation = std::move(cancellation);
    return model->Complete(request, call);
  }));
}

struct ExtractArgs {
  int max_attempts;
  std::string mode, name;
  std::optional<std::string> description;
  bool strict, formats, return_result;
};

// The result of client.extract(..., return_result=True).
struct PyExtractResult {
  py::object value;
  int attempts = 0;
  Usage usage;
  ChatResponse response;
};

// What extract() and stream_extract() share: the schema from a dict or a pydantic model class
// (v1's .schema(), v2's .model_json_schema()) and the options.
struct PreparedExtract {
  Json schema;
  ExtractOptions options;
  py::object model_class = py::none();
};

PreparedExtract PrepareExtract(py::object schema, const ExtractArgs& a) {
  PreparedExtract p;
  if (PyType_Check(schema.ptr())) {
    p.model_class = schema;
    if (py::hasattr(schema, "model_json_schema")) {
      schema = schema.attr("model_json_schema")();
    } else if (py::hasattr(schema, "schema")) {
      schema = schema.attr("schema")();
    } else {
      throw py::type_error("schema must be a JSON Schema dict or a pydantic model class");
    }
  }
  p.options.max_attempts = a.max_attempts;
  p.options.name = a.name;
  if (a.description) p.options.description = *a.description;
  p.options.strict = a.strict;
  p.options.schema.assert_formats = a.formats;
  if (a.mode == "tool") {
    p.options.mode = StructuredMode::kTool;
  } else if (a.mode == "response_format") {
    p.options.mode = StructuredMode::kResponseFormat;
  } else if (a.mode == "prompt") {
    p.options.mode = StructuredMode::kPrompt;
  } else {
    ThrowIfError(absl::InvalidArgumentError(
        "mode must be 'tool', 'response_format' or 'prompt', got '" + a.mode + "'"));
  }
  p.schema = PythonToJson(schema);
  return p;
}

// The value as Python: an instance of the pydantic class when one was given.
py::object ValueOf(const Json& value, const py::object& model_class) {
  py::object out = JsonToPython(value);
  if (model_class.is_none()) return out;
  return py::hasattr(model_class, "model_validate") ? model_class.attr("model_validate")(out)
                                                    : model_class.attr("parse_obj")(out);
}

py::object Extract(Client& client, py::object schema, const ExtractArgs& a, const ChatArgs& chat,
                   CallContext call) {
  PreparedExtract p = PrepareExtract(std::move(schema), a);
  ChatRequest request = ToRequest(chat);
  std::shared_ptr<ChatModel> model = client.chat;
  ExtractResult result = ValueOrThrow(RunInterruptible([&](std::shared_ptr<Cancellation> c) {
    call.cancellation = std::move(c);
    return llmkit::Extract(*model, request, p.schema, p.options, call);
  }));
  py::object value = ValueOf(result.value, p.model_class);
  if (!a.return_result) return value;
  return py::cast(PyExtractResult{value, result.attempts, result.usage, result.response});
}

// stream_extract(): StreamExtract on a worker thread; iterating yields the partial values (as
// dicts); .value and .result once iteration has ended.
class ExtractStream {
 public:
  ExtractStream(std::shared_ptr<ChatModel> model, ChatRequest request, PreparedExtract prepared,
                CallContext call)
      : model_class_(std::move(prepared.model_class)),
        stream_(std::move(call),
                [model = std::move(model), request = std::move(request),
                 schema = std::move(prepared.schema), options = std::move(prepared.options)](
                    const WorkerStream<Json, ExtractResult>::Push& push, const CallContext& call) {
                  return StreamExtract(
                      *model, request, schema,
                      [&push](const Json& partial, int) { return push(partial); }, options, call);
                }) {}

  void Close() { stream_.Close(); }
  py::object Next() { return JsonToPython(stream_.Next()); }
  py::object Value() { return ValueOf(stream_.Finished().value, model_class_); }
  PyExtractResult Result() {
    const ExtractResult& r = stream_.Finished();
    return {ValueOf(r.value, model_class_), r.attempts, r.usage, r.response};
  }

 private:
  py::object model_class_;
  WorkerStream<Json, ExtractResult> stream_;
};

HttpHeaders ToHeaders(const std::optional<std::map<std::string, std::string>>& headers) {
  HttpHeaders out;
  if (headers) out.assign(headers->begin(), headers->end());
  return out;
}

// The models behind any of the Python client or model classes.
Client ClientOf(const py::handle& model) {
  if (py::isinstance<PyOpenAIClient>(model)) return model.cast<PyOpenAIClient&>();
  if (py::isinstance<PyAnthropicClient>(model)) return model.cast<PyAnthropicClient&>();
  if (py::isinstance<PyChatModel>(model)) return model.cast<PyChatModel&>();
  throw py::type_error("expected an OpenAIClient, AnthropicClient or ChatModel, got " +
                       py::repr(model).cast<std::string>());
}

// `model` with `wrap` applied to its chat model and, when it has one, its embedding model.
template <typename Wrap>
PyChatModel Decorate(const py::object& model, Wrap wrap) {
  Client client = ClientOf(model);
  PyChatModel out;
  out.chat = wrap(client.chat);
  if (client.embeddings != nullptr) out.embeddings = wrap(client.embeddings);
  out.model = client.model;
  return out;
}

std::chrono::milliseconds Seconds(double seconds, const char* name) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) {
    throw StatusError(
        absl::InvalidArgumentError(std::string(name) + " must be a finite number of seconds >= 0"));
  }
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

const char* KindName(StreamEvent::Kind kind) {
  switch (kind) {
    case StreamEvent::Kind::kTextDelta:
      return "text";
    case StreamEvent::Kind::kToolCallDelta:
      return "tool_call";
    case StreamEvent::Kind::kUsage:
      return "usage";
    case StreamEvent::Kind::kDone:
      return "done";
  }
  return "";
}

// embed(...) on OpenAIClient, and on ChatModel when the model it wraps embeds.
template <typename Class>
void DefineEmbedMethod(Class& cls) {
  using Self = typename Class::type;
  cls.def(
      "embed",
      [](Self& c, std::vector<std::string> inputs, std::optional<std::string> model,
         std::optional<int> dimensions, std::optional<double> timeout, py::object tags) {
        if (c.embeddings == nullptr) {
          throw py::type_error("this model has no embedding model (wrap an OpenAIClient)");
        }
        EmbedOptions options;
        options.model = model.value_or("");
        options.dimensions = dimensions;
        CallContext call = ToCallContext(timeout, std::nullopt, tags);
        std::shared_ptr<EmbeddingModel> model_ptr = c.embeddings;
        Embeddings e = ValueOrThrow(RunInterruptible([&](std::shared_ptr<Cancellation> cancel) {
          call.cancellation = std::move(cancel);
          return model_ptr->Embed(inputs, options, call);
        }));
        auto* values = new std::vector<float>(std::move(e.values));
        py::capsule owner(values, [](void* p) { delete static_cast<std::vector<float>*>(p); });
        size_t rows = e.dimensions == 0 ? 0 : values->size() / e.dimensions;
        return py::array_t<float>({rows, e.dimensions}, values->data(), owner);
      },
      py::arg("inputs"), py::kw_only(), py::arg("model") = py::none(),
      py::arg("dimensions") = py::none(), py::arg("timeout") = py::none(),
      py::arg("tags") = py::none(),
      "Embeds the texts (batched, concurrent, in order) and returns a float32 array (n, d).");
}

// chat(...) and stream(...) with the same keyword arguments on both client classes.
template <typename Class>
void DefineChatMethods(Class& cls) {
  using Self = typename Class::type;
  auto chat = [](Self& c, py::list messages, std::optional<std::string> model,
                 std::optional<double> temperature, std::optional<double> top_p,
                 std::optional<int64_t> max_tokens, std::optional<std::vector<std::string>> stop,
                 std::optional<int64_t> seed, py::object tools, py::object tool_choice,
                 py::object response_format, py::object extra, std::optional<double> timeout,
                 std::optional<double> idle_timeout, py::object tags) {
    return Chat(c,
                {messages, model, temperature, top_p, max_tokens, seed, stop, tools, tool_choice,
                 response_format, extra},
                ToCallContext(timeout, idle_timeout, tags));
  };
  auto stream = [](Self& c, py::list messages, std::optional<std::string> model,
                   std::optional<double> temperature, std::optional<double> top_p,
                   std::optional<int64_t> max_tokens, std::optional<std::vector<std::string>> stop,
                   std::optional<int64_t> seed, py::object tools, py::object tool_choice,
                   py::object response_format, py::object extra, std::optional<double> timeout,
                   std::optional<double> idle_timeout, py::object tags) {
    CallContext call = ToCallContext(timeout, idle_timeout, tags);
    return std::make_unique<ChatStream>(
        c.chat,
        ToRequest({messages, model, temperature, top_p, max_tokens, seed, stop, tools, tool_choice,
                   response_format, extra}),
        std::move(call));
  };
#define LLMKIT_CHAT_ARGS                                                                         \
  py::arg("messages"), py::kw_only(),                                                            \
      py::arg("model") = py::none(), py::arg("temperature") = py::none(),                        \
      py::arg("top_p") = py::none(), py::arg("max_tokens") = py::none(),                         \
      py::arg("stop") = py::none(), py::arg("seed") = py::none(), py::arg("tools") = py::none(), \
      py::arg("tool_choice") = py::none(), py::arg("response_format") = py::none(),              \
      py::arg("extra") = py::none(), py::arg("timeout") = py::none(),                            \
      py::arg("idle_timeout") = py::none(), py::arg("tags") = py::none()
  cls.def(
      "extract",
      [](Self& c, py::list messages, py::object schema, int max_attempts, const std::string& mode,
         const std::string& name, std::optional<std::string> description, bool strict, bool formats,
         bool return_result, std::optional<std::string> model, std::optional<double> temperature,
         std::optional<int64_t> max_tokens, std::optional<int64_t> seed,
         std::optional<double> timeout, py::object tags) {
        return Extract(c, std::move(schema),
                       {max_attempts, mode, name, description, strict, formats, return_result},
                       {messages, model, temperature, std::nullopt, max_tokens, seed, std::nullopt,
                        py::none(), py::none(), py::none(), py::none()},
                       ToCallContext(timeout, std::nullopt, tags));
      },
      py::arg("messages"), py::kw_only(), py::arg("schema"), py::arg("max_attempts") = 3,
      py::arg("mode") = "tool", py::arg("name") = "output", py::arg("description") = py::none(),
      py::arg("strict") = true, py::arg("formats") = false, py::arg("return_result") = false,
      py::arg("model") = py::none(), py::arg("temperature") = py::none(),
      py::arg("max_tokens") = py::none(), py::arg("seed") = py::none(),
      py::arg("timeout") = py::none(), py::arg("tags") = py::none(),
      "Asks for a value matching `schema` (a JSON Schema dict or a pydantic model class), "
      "re-asking with the validation errors up to max_attempts calls. Returns the value (a "
      "model instance for a pydantic class), or an ExtractResult with return_result=True.");
  cls.def(
      "stream_extract",
      [](Self& c, py::list messages, py::object schema, int max_attempts, const std::string& mode,
         const std::string& name, std::optional<std::string> description, bool strict, bool formats,
         std::optional<std::string> model, std::optional<double> temperature,
         std::optional<int64_t> max_tokens, std::optional<int64_t> seed,
         std::optional<double> timeout, py::object tags) {
        PreparedExtract p = PrepareExtract(
            std::move(schema), {max_attempts, mode, name, description, strict, formats, false});
        ChatRequest request =
            ToRequest({messages, model, temperature, std::nullopt, max_tokens, seed, std::nullopt,
                       py::none(), py::none(), py::none(), py::none()});
        return std::make_unique<ExtractStream>(c.chat, std::move(request), std::move(p),
                                               ToCallContext(timeout, std::nullopt, tags));
      },
      py::arg("messages"), py::kw_only(), py::arg("schema"), py::arg("max_attempts") = 3,
      py::arg("mode") = "tool", py::arg("name") = "output", py::arg("description") = py::none(),
      py::arg("strict") = true, py::arg("formats") = false, py::arg("model") = py::none(),
      py::arg("temperature") = py::none(), py::arg("max_tokens") = py::none(),
      py::arg("seed") = py::none(), py::arg("timeout") = py::none(), py::arg("tags") = py::none(),
      "As extract, streamed: iterate for the partial values (dicts, growing; a re-ask starts "
      "again), then read .value (validated; a model instance for a pydantic class) or .result.");
  cls.def("chat", chat, LLMKIT_CHAT_ARGS,
          "Sends the messages and returns a ChatResponse. Raises llmkit.Error subclasses.");
  cls.def("stream", stream, LLMKIT_CHAT_ARGS,
          "Starts a streamed answer; iterate the returned ChatStream for StreamEvents, then "
          "read .response.");
#undef LLMKIT_CHAT_ARGS
}

// A decorator's model, or its construction error raised as llmkit.InvalidArgumentError.
template <typename T>
std::shared_ptr<T> ToShared(absl::StatusOr<std::unique_ptr<T>> p) {
  return std::shared_ptr<T>(ValueOrThrow(std::move(p)));
}

// Fallback entries from Python — a model, or a (model, model_name) or (model, model_name, name)
// tuple — read once into the chat side and, when every entry embeds, the embedding side.
struct FallbackEntries {
  std::vector<FallbackTarget<ChatModel>> chat;
  std::vector<FallbackTarget<EmbeddingModel>> embeddings;  // Empty unless every entry embeds.
};

FallbackEntries ReadFallbacks(const py::handle& entries, const char* what) {
  FallbackEntries out;
  if (entries.is_none()) return out;
  bool all_embed = true;
  for (const py::handle& entry : entries) {
    py::handle model = entry;
    std::string model_name, name;
    if (py::isinstance<py::tuple>(entry)) {
      py::tuple t = entry.cast<py::tuple>();
      if (t.size() < 1 || t.size() > 3) {
        ThrowIfError(absl::InvalidArgumentError(std::string(what) +
                                                ": a tuple is (model, model_name[, name])"));
      }
      model = t[0];
      for (size_t i = 1; i < t.size(); ++i) {
        if (t[i].is_none()) continue;
        if (!PyUnicode_Check(t[i].ptr())) {
          throw py::type_error(absl::StrCat(what, ": ", i == 1 ? "model_name" : "name",
                                            " must be str, got ", Py_TYPE(t[i].ptr())->tp_name));
        }
        (i == 1 ? model_name : name) = t[i].cast<std::string>();
      }
    }
    Client client = ClientOf(model);
    out.chat.push_back({client.chat, model_name, name});
    all_embed = all_embed && client.embeddings != nullptr;
    if (all_embed) out.embeddings.push_back({client.embeddings, model_name, name});
  }
  if (!all_embed) out.embeddings.clear();
  return out;
}

void DefineResilience(py::module_& m) {
  m.def(
      "with_retry",
      [](py::object model, std::optional<int> max_retries, std::optional<int> max_attempts,
         double initial_backoff, double max_backoff, double max_retry_after,
         std::optional<double> attempt_timeout, std::optional<double> budget, double budget_burst,
         std::shared_ptr<Tracer> tracer) {
        RetryPolicy policy;
        policy.tracer = std::move(tracer);
        if (max_attempts) {  // The old spelling: attempts = 1 + retries.
          PyErr_WarnEx(PyExc_DeprecationWarning,
                       "with_retry(max_attempts=N) is deprecated: use max_retries=N-1 (the name "
                       "C++ and the official SDKs use)",
                       1);
          if (*max_attempts < 1) {
            throw StatusError(absl::InvalidArgumentError("max_attempts must be at least 1"));
          }
          policy.max_retries = *max_attempts - 1;
        }
        if (max_retries) policy.max_retries = *max_retries;
        if (policy.max_retries < 0) {
          throw StatusError(absl::InvalidArgumentError("max_retries must be >= 0"));
        }
        policy.initial_backoff = Seconds(initial_backoff, "initial_backoff");
        policy.max_backoff = Seconds(max_backoff, "max_backoff");
        policy.max_retry_after = Seconds(max_retry_after, "max_retry_after");
        if (attempt_timeout) policy.attempt_timeout = Seconds(*attempt_timeout, "attempt_timeout");
        if (budget) policy.budget = ValueOrThrow(RetryBudget::Create(*budget, budget_burst));
        return Decorate(model, [&](auto inner) { return ToShared(WithRetry(inner, policy)); });
      },
      py::arg("model"), py::kw_only(), py::arg("max_retries") = py::none(),
      py::arg("max_attempts") = py::none(), py::arg("initial_backoff") = 0.5,
      py::arg("max_backoff") = 8.0, py::arg("max_retry_after") = 60.0,
      py::arg("attempt_timeout") = py::none(), py::arg("budget") = py::none(),
      py::arg("budget_burst") = 10.0, py::arg("tracer") = nullptr,
      "Wraps a client or model with the official SDKs' retry rule; `budget` keeps retries under "
      "that fraction of calls (see docs/resilience.md). With a tracer each attempt is a span.");
  m.def(
      "with_fallback",
      [](py::list models, py::object context_window_fallbacks, py::object content_policy_fallbacks,
         double cooldown, double cooldown_failure_ratio, std::shared_ptr<Tracer> tracer) {
        FallbackPolicy<ChatModel> chat_policy;
        chat_policy.tracer = tracer;
        chat_policy.context_window_fallbacks =
            ReadFallbacks(context_window_fallbacks, "context_window_fallbacks").chat;
        chat_policy.content_policy_fallbacks =
            ReadFallbacks(content_policy_fallbacks, "content_policy_fallbacks").chat;
        chat_policy.cooldown = Seconds(cooldown, "cooldown");
        chat_policy.cooldown_failure_ratio = cooldown_failure_ratio;
        FallbackEntries entries = ReadFallbacks(models, "models");
        PyChatModel out;
        out.chat = ValueOrThrow(WithFallback(std::move(entries.chat), chat_policy));
        if (!entries.embeddings.empty()) {
          FallbackPolicy<EmbeddingModel> policy;
          policy.cooldown = chat_policy.cooldown;
          policy.cooldown_failure_ratio = cooldown_failure_ratio;
          policy.tracer = tracer;
          out.embeddings = ValueOrThrow(WithFallback(std::move(entries.embeddings), policy));
        }
        return out;
      },
      py::arg("models"), py::kw_only(), py::arg("context_window_fallbacks") = py::none(),
      py::arg("content_policy_fallbacks") = py::none(), py::arg("cooldown") = 5.0,
      py::arg("cooldown_failure_ratio") = 0.5, py::arg("tracer") = nullptr,
      "Tries the models in order (entries: a model, or (model, model_name[, name])); "
      "r.served_by names the one that answered. With a tracer each model tried is a span.");
  m.def(
      "with_circuit_breaker",
      [](py::object model, double failure_ratio, int window, int min_calls, double open_for,
         int half_open_calls, std::string name, std::shared_ptr<Tracer> tracer) {
        CircuitBreakerPolicy policy;
        policy.tracer = std::move(tracer);
        policy.failure_ratio = failure_ratio;
        policy.window = window;
        policy.min_calls = min_calls;
        policy.open_for = Seconds(open_for, "open_for");
        policy.half_open_calls = half_open_calls;
        policy.name = std::move(name);
        // One per provider.
        std::shared_ptr<CircuitBreaker> breaker = ValueOrThrow(CircuitBreaker::Create(policy));
        return Decorate(model,
                        [&](auto inner) { return ToShared(WithCircuitBreaker(inner, breaker)); });
      },
      py::arg("model"), py::kw_only(), py::arg("failure_ratio") = 0.5, py::arg("window") = 100,
      py::arg("min_calls") = 10, py::arg("open_for") = 30.0, py::arg("half_open_calls") = 3,
      py::arg("name") = "model", py::arg("tracer") = nullptr,
      "Fails fast (UnavailableError) while too many recent calls failed. With a tracer, state "
      "changes and rejections are counted.");
  m.def(
      "with_guard",
      [](py::object model, std::optional<std::string> input_pii,
         std::optional<std::string> output_pii, bool restore_output, int max_reasks,
         std::vector<std::string> banned_terms, const std::string& banned_action,
         const py::list& patterns, py::object tokenizer, std::optional<size_t> max_input_tokens,
         std::optional<size_t> max_output_tokens, const std::string& token_limit_action,
         py::object validator, const std::string& validator_action,
         std::optional<std::vector<std::string>> pii_kinds,
         std::optional<std::vector<std::string>> phone_regions) {
        auto action = [](const std::optional<std::string>& name,
                         const char* what) -> std::optional<GuardAction> {
          if (!name) return std::nullopt;
          if (*name == "raise") return GuardAction::kRaise;
          if (*name == "redact") return GuardAction::kRedact;
          if (*name == "filter") return GuardAction::kFilter;
          if (*name == "reask") return GuardAction::kReask;
          throw StatusError(absl::InvalidArgumentError(
              std::string(what) + " must be 'raise', 'redact', 'filter', 'reask' or None"));
        };
        GuardOptions options;
        options.pii = ToPiiOptions(pii_kinds, phone_regions);
        options.input_pii = action(input_pii, "input_pii");
        options.output_pii = action(output_pii, "output_pii");
        options.restore_output = restore_output;
        options.max_reasks = max_reasks;
        options.banned_terms = std::move(banned_terms);
        options.banned_action = *action(banned_action, "banned_action");
        for (const py::handle& item : patterns) {
          // {"name": ..., "regex": ..., "input": bool, "output": bool, "action": ...}
          if (!py::isinstance<py::dict>(item)) {
            throw StatusError(absl::InvalidArgumentError(
                "patterns: each is a dict with name, regex and optionally input, output, action"));
          }
          py::dict d = py::reinterpret_borrow<py::dict>(item);
          GuardPattern pattern;
          if (!d.contains("name") || !d.contains("regex")) {
            throw StatusError(absl::InvalidArgumentError("patterns: name and regex are required"));
          }
          pattern.name = py::cast<std::string>(d["name"]);
          pattern.regex = py::cast<std::string>(d["regex"]);
          if (d.contains("input")) pattern.input = py::cast<bool>(d["input"]);
          if (d.contains("output")) pattern.output = py::cast<bool>(d["output"]);
          if (d.contains("action")) {
            pattern.action = *action(py::cast<std::string>(d["action"]), "a pattern's action");
          }
          options.patterns.push_back(std::move(pattern));
        }
        if (!tokenizer.is_none()) options.tokenizer = ToTokenizer(tokenizer);
        options.max_input_tokens = max_input_tokens;
        options.max_output_tokens = max_output_tokens;
        options.token_limit_action = *action(token_limit_action, "token_limit_action");
        options.validator_action = *action(validator_action, "validator_action");
        if (!validator.is_none()) {
          // Called on the call's thread: the GIL is taken for it, and the reference is dropped
          // with the GIL held.
          auto held =
              std::shared_ptr<py::object>(new py::object(std::move(validator)), [](py::object* o) {
                py::gil_scoped_acquire gil;
                delete o;
              });
          options.validator = [held](std::string_view text, bool output) -> absl::Status {
            py::gil_scoped_acquire gil;
            try {
              py::object ok = (*held)(py::str(text.data(), text.size()), output);
              if (!ok.is_none() && !py::bool_(ok)) {
                return absl::FailedPreconditionError(std::string("guard validator: refused the ") +
                                                     (output ? "answer" : "input"));
              }
              return absl::OkStatus();
            } catch (py::error_already_set& e) {
              return absl::FailedPreconditionError(std::string("guard validator: ") + e.what());
            }
          };
        }
        Client client = ClientOf(model);
        PyChatModel out;
        out.chat = ToShared(WithGuard(client.chat, std::move(options)));
        out.embeddings = client.embeddings;  // Embedding inputs are not checked.
        out.model = client.model;
        return out;
      },
      py::arg("model"), py::kw_only(), py::arg("input_pii") = py::none(),
      py::arg("output_pii") = py::none(), py::arg("restore_output") = true,
      py::arg("max_reasks") = 2, py::arg("banned_terms") = std::vector<std::string>{},
      py::arg("banned_action") = "raise", py::arg("patterns") = py::list(),
      py::arg("tokenizer") = py::none(), py::arg("max_input_tokens") = py::none(),
      py::arg("max_output_tokens") = py::none(), py::arg("token_limit_action") = "raise",
      py::arg("validator") = py::none(), py::arg("validator_action") = "raise",
      py::arg("pii_kinds") = py::none(), py::arg("phone_regions") = py::none(),
      "Checks what is sent and what comes back: PII, banned terms, RE2 patterns, token limits "
      "and a validator(text, output) returning False or raising to refuse; each 'raise', "
      "'redact', 'filter' or (answers) 'reask'.");
  m.def(
      "with_rate_limit",
      [](py::object model, double requests_per_minute, double tokens_per_minute, bool wait,
         py::object tokenizer, std::optional<std::string> redis_url, const std::string& redis_key,
         bool redis_fail_open, std::shared_ptr<Tracer> tracer) {
        RateLimitPolicy policy;
        policy.tracer = std::move(tracer);
        policy.requests_per_minute = requests_per_minute;
        policy.tokens_per_minute = tokens_per_minute;
        policy.wait = wait;
        if (!tokenizer.is_none()) policy.tokenizer = ToTokenizer(tokenizer);
        policy.redis_url = redis_url.value_or("");
        policy.redis_key = redis_key;
        policy.redis_fail_open = redis_fail_open;
        // Shared by chat and embed.
        std::shared_ptr<RateLimiter> limiter = ValueOrThrow(RateLimiter::Create(policy));
        return Decorate(model, [&](auto inner) { return ToShared(WithRateLimit(inner, limiter)); });
      },
      py::arg("model"), py::kw_only(), py::arg("requests_per_minute") = 0.0,
      py::arg("tokens_per_minute") = 0.0, py::arg("wait") = true, py::arg("tokenizer") = py::none(),
      py::arg("redis_url") = py::none(), py::arg("redis_key") = "llmkit:ratelimit:default",
      py::arg("redis_fail_open") = false, py::arg("tracer") = nullptr,
      "Requests- and tokens-per-minute buckets; waits within the call's timeout or raises "
      "RateLimitError. With redis_url the buckets are shared by every process using redis_key. "
      "With a tracer, waits (and the time waited) and refusals are counted.");
  m.def(
      "with_hedging",
      [](py::object model, std::optional<double> delay, double percentile, int min_samples,
         double initial_delay) {
        HedgingPolicy policy;
        if (delay) policy.delay = Seconds(*delay, "delay");
        policy.percentile = percentile;
        policy.min_samples = min_samples;
        policy.initial_delay = Seconds(initial_delay, "initial_delay");
        return Decorate(model, [&](auto inner) { return ToShared(WithHedging(inner, policy)); });
      },
      py::arg("model"), py::kw_only(), py::arg("delay") = py::none(), py::arg("percentile") = 0.95,
      py::arg("min_samples") = 20, py::arg("initial_delay") = 1.0,
      "Starts a second attempt when the first is slower than `delay` (default: the observed "
      "p95); the first success wins.");
}
}  // namespace

void BindClients(py::module_& m) {
  py::class_<ToolCall>(m, "ToolCall")
      .def_readonly("id", &ToolCall::id)
      .def_readonly("name", &ToolCall::name)
      .def_readonly("arguments", &ToolCall::arguments, "JSON text, as the model wrote it.")
      .def("__repr__", [](const ToolCall& c) {
        return "ToolCall(id=" + py::repr(py::str(c.id)).cast<std::string>() +
               ", name=" + py::repr(py::str(c.name)).cast<std::string>() +
               ", arguments=" + py::repr(py::str(c.arguments)).cast<std::string>() + ")";
      });
  py::class_<Usage>(m, "Usage")
      .def_readonly("input_tokens", &Usage::input_tokens)
      .def_readonly("output_tokens", &Usage::output_tokens)
      .def_readonly("total_tokens", &Usage::total_tokens)
      .def_readonly("cached_input_tokens", &Usage::cached_input_tokens)
      .def_readonly("cache_creation_input_tokens", &Usage::cache_creation_input_tokens)
      .def_readonly("reasoning_tokens", &Usage::reasoning_tokens)
      .def("__repr__", [](const Usage& u) {
        return "Usage(input_tokens=" + std::to_string(u.input_tokens) +
               ", output_tokens=" + std::to_string(u.output_tokens) +
               ", total_tokens=" + std::to_string(u.total_tokens) + ")";
      });
  py::class_<SpentAttempt>(m, "SpentAttempt",
                           "A provider call whose answer was not the call's answer (a guard "
                           "re-asked it, or it failed after the provider counted tokens).")
      .def_readonly("model", &SpentAttempt::model)
      .def_readonly("usage", &SpentAttempt::usage)
      .def_readonly("failure", &SpentAttempt::failure,
                    "'' for a dropped answer; else the failure's status code, lower case.")
      .def_readonly("estimated", &SpentAttempt::estimated,
                    "True when the counts are llmkit's estimate (the provider had not sent "
                    "them: an OpenAI stream cut before its usage chunk).")
      .def("__repr__", [](const SpentAttempt& a) {
        return "SpentAttempt(model=" + py::repr(py::str(a.model)).cast<std::string>() +
               ", input_tokens=" + std::to_string(a.usage.input_tokens) +
               ", output_tokens=" + std::to_string(a.usage.output_tokens) +
               ", failure=" + py::repr(py::str(a.failure)).cast<std::string>() +
               ", estimated=" + (a.estimated ? "True" : "False") + ")";
      });
  py::class_<PyExtractResult>(m, "ExtractResult",
                              "client.extract(..., return_result=True): the value, the calls "
                              "made, their usage summed, and the accepted response.")
      .def_readonly("value", &PyExtractResult::value)
      .def_readonly("attempts", &PyExtractResult::attempts)
      .def_readonly("usage", &PyExtractResult::usage)
      .def_readonly("response", &PyExtractResult::response);
  py::class_<ChatResponse>(m, "ChatResponse")
      .def_readonly("id", &ChatResponse::id)
      .def_readonly("model", &ChatResponse::model)
      .def_readonly("text", &ChatResponse::text)
      .def_property_readonly(
          "message", [](const ChatResponse& r) { return MessageDict(r.message); },
          "The assistant message as an OpenAI-style dict (append it to the "
          "conversation as it is).")
      .def_property_readonly("tool_calls",
                             [](const ChatResponse& r) { return r.message.tool_calls; })
      .def_readonly("finish_reason", &ChatResponse::finish_reason)
      .def_readonly("usage", &ChatResponse::usage)
      .def_readonly("request_id", &ChatResponse::request_id)
      .def_readonly("cost", &ChatResponse::cost,
                    "A Cost when the client was given prices= or wrapped by with_budget, "
                    "else None.")
      .def_readonly("attempts", &ChatResponse::attempts, "Calls made (resilience decorators).")
      .def_readonly("spent_attempts", &ChatResponse::spent_attempts,
                    "The calls before the answer that used tokens and gave no answer (failed "
                    "retries and fallback hops, re-asked answers); usage counts them too.")
      .def_readonly("served_by", &ChatResponse::served_by,
                    "The with_fallback entry that answered (its name, model name, or the "
                    "model the provider reported).")
      .def_property_readonly(
          "backoff",
          [](const ChatResponse& r) { return std::chrono::duration<double>(r.backoff).count(); },
          "Seconds spent waiting between attempts.")
      .def_readonly("cache_hit", &ChatResponse::cache_hit,
                    "True when a response cache (with_cache) answered: no provider call, usage "
                    "all zero, saved_usage what the cached call used.")
      .def_property_readonly(
          "cache_age",
          [](const ChatResponse& r) { return std::chrono::duration<double>(r.cache_age).count(); },
          "Seconds since the cached answer was made (0 unless cache_hit).")
      .def_readonly("saved_usage", &ChatResponse::saved_usage,
                    "On a cache hit, the usage of the call that made the answer.")
      .def_readonly("cache_similarity", &ChatResponse::cache_similarity,
                    "On a cache hit: 1 for an exact one, else the cosine similarity of the two "
                    "questions.")
      .def("__repr__", [](const ChatResponse& r) {
        return "ChatResponse(text=" + py::repr(py::str(r.text)).cast<std::string>() +
               ", finish_reason=" + py::repr(py::str(r.finish_reason)).cast<std::string>() + ")";
      });
  py::class_<StreamEvent>(m, "StreamEvent")
      .def_property_readonly(
          "kind", [](const StreamEvent& e) { return KindName(e.kind); },
          "\"text\", \"tool_call\", \"usage\" or \"done\".")
      .def_readonly("text", &StreamEvent::text)
      .def_readonly("tool_index", &StreamEvent::tool_index)
      .def_readonly("tool_id", &StreamEvent::tool_id)
      .def_readonly("tool_name", &StreamEvent::tool_name)
      .def_readonly("arguments_delta", &StreamEvent::arguments_delta)
      .def_readonly("usage", &StreamEvent::usage)
      .def("__repr__", [](const StreamEvent& e) {
        return std::string("StreamEvent(kind=") + KindName(e.kind) +
               ", text=" + py::repr(py::str(e.text)).cast<std::string>() + ")";
      });
  py::class_<ExtractStream>(m, "ExtractStream")
      .def("__iter__", [](ExtractStream& s) -> ExtractStream& { return s; })
      .def("__next__", &ExtractStream::Next)
      .def_property_readonly("value", &ExtractStream::Value,
                             "The validated value, once iteration has ended.")
      .def_property_readonly("result", &ExtractStream::Result,
                             "The ExtractResult, once iteration has ended.")
      .def("close", &ExtractStream::Close, "Stops the call.")
      .def("__enter__", [](ExtractStream& s) -> ExtractStream& { return s; })
      .def("__exit__", [](ExtractStream& s, py::args) { s.Close(); });
  py::class_<ChatStream>(m, "ChatStream")
      .def("__iter__", [](ChatStream& s) -> ChatStream& { return s; })
      .def("__next__", &ChatStream::Next)
      .def_property_readonly("response", &ChatStream::response, py::return_value_policy::copy,
                             "The final ChatResponse, once iteration has ended.")
      .def("close", &ChatStream::Close, "Stops the stream.")
      .def("__enter__", [](ChatStream& s) -> ChatStream& { return s; })
      .def("__exit__", [](ChatStream& s, py::args) { s.Close(); });

  py::class_<PyOpenAIClient> openai(
      m, "OpenAIClient", "A client of an OpenAI-compatible server: chat, stream, embed.");
  openai.def(
      py::init([](std::optional<std::string> base_url, std::optional<std::string> api_key,
                  std::optional<std::string> model, std::optional<std::string> embedding_model,
                  std::optional<std::string> organization, std::optional<std::string> project,
                  std::optional<std::map<std::string, std::string>> headers,
                  bool max_completion_tokens, size_t embedding_batch_size,
                  size_t embedding_batch_tokens, int embedding_concurrency,
                  const py::object& prices) {
        OpenAIOptions options;
        options.base_url = base_url.value_or("");
        options.api_key = api_key.value_or("");
        options.model = model.value_or("");
        options.organization = organization.value_or("");
        options.project = project.value_or("");
        options.extra_headers = ToHeaders(headers);
        options.max_completion_tokens = max_completion_tokens;
        options.transport = ValueOrThrow(NewCurlTransport());
        Client client;
        client.chat = ValueOrThrow(NewOpenAIClient(options));
        client.model = options.model;
        options.model = embedding_model.value_or(model.value_or(""));
        EmbeddingBatchOptions batch;
        batch.max_inputs_per_request = embedding_batch_size;
        batch.max_tokens_per_request = embedding_batch_tokens;
        batch.max_concurrency = embedding_concurrency;
        client.embeddings = ValueOrThrow(NewOpenAIEmbeddingModel(options, batch));
        return PyOpenAIClient{Priced(std::move(client), prices, "openai", options.model)};
      }),
      py::arg("base_url") = py::none(), py::kw_only(), py::arg("api_key") = py::none(),
      py::arg("model") = py::none(), py::arg("embedding_model") = py::none(),
      py::arg("organization") = py::none(), py::arg("project") = py::none(),
      py::arg("headers") = py::none(), py::arg("max_completion_tokens") = false,
      py::arg("embedding_batch_size") = 2048, py::arg("embedding_batch_tokens") = 300000,
      py::arg("embedding_concurrency") = 4, py::arg("prices") = py::none());
  DefineChatMethods(openai);
  DefineEmbedMethod(openai);

  py::class_<PyAnthropicClient> anthropic(m, "AnthropicClient",
                                          "A client of Anthropic's Messages API.");
  anthropic.def(
      py::init([](std::optional<std::string> api_key, std::optional<std::string> model,
                  std::optional<std::string> base_url, std::optional<std::string> anthropic_version,
                  int64_t max_tokens, std::optional<std::map<std::string, std::string>> headers,
                  const py::object& prices) {
        AnthropicOptions options;
        options.api_key = api_key.value_or("");
        options.model = model.value_or("");
        options.base_url = base_url.value_or("");
        if (anthropic_version) options.anthropic_version = *anthropic_version;
        options.default_max_tokens = max_tokens;
        options.extra_headers = ToHeaders(headers);
        Client client;
        client.chat = ValueOrThrow(NewAnthropicClient(options));
        client.model = options.model;
        return PyAnthropicClient{Priced(std::move(client), prices, "anthropic")};
      }),
      py::kw_only(), py::arg("api_key") = py::none(), py::arg("model") = py::none(),
      py::arg("base_url") = py::none(), py::arg("anthropic_version") = py::none(),
      py::arg("max_tokens") = 4096, py::arg("headers") = py::none(),
      py::arg("prices") = py::none());
  DefineChatMethods(anthropic);

  py::class_<PyChatModel> decorated(
      m, "ChatModel",
      "A client wrapped by resilience decorators: chat and stream, and embed when it wraps an "
      "OpenAIClient.");
  DefineChatMethods(decorated);
  DefineEmbedMethod(decorated);
  DefineResilience(m);
}

ModelHandles ModelsOf(const py::handle& model) {
  Client client = ClientOf(model);
  return {client.chat, client.embeddings, client.model};
}

py::object ModelFrom(ModelHandles models) {
  PyChatModel out;
  out.chat = std::move(models.chat);
  out.embeddings = std::move(models.embeddings);
  out.model = std::move(models.default_model);
  return py::cast(std::move(out));
}

}  // namespace llmkit::python
