// Models from the environment (models.h).

#include "models.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/base/call_once.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "llmkit/anthropic.h"
#include "llmkit/chroma.h"
#include "llmkit/json.h"
#include "llmkit/openai.h"
#include "llmkit/pgvector.h"
#include "llmkit/resilience.h"
#include "llmkit/status.h"
#include "read_file.h"

namespace llmkit::cli {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

const char kModelHelp[] =
    "To get answers, configure a model in the environment:\n"
    "  LLMKIT_BASE_URL=http://127.0.0.1:8080/v1   an OpenAI-compatible server (llama.cpp, vLLM, "
    "Ollama /v1)\n"
    "  OPENAI_API_KEY=...                         OpenAI\n"
    "  ANTHROPIC_API_KEY=...                      Anthropic\n"
    "  LLMKIT_MODEL=name                          the chat model to ask\n";

std::shared_ptr<Tracer>& TracerSlot() {
  static std::shared_ptr<Tracer>* tracer = new std::shared_ptr<Tracer>();
  return *tracer;
}

absl::StatusOr<std::shared_ptr<Tracer>> CommandTracer() {
  static absl::once_flag once;
  static absl::Status status;
  absl::call_once(once, [] {
    TracerOptions options = TracerOptionsFromEnvironment({.service_name = "llmkit-cli"});
    if (options.disabled || (options.traces_endpoint.empty() && options.metrics_endpoint.empty())) {
      return;
    }
    absl::StatusOr<std::shared_ptr<Tracer>> tracer = Tracer::Create(std::move(options));
    if (tracer.ok()) {
      TracerSlot() = *std::move(tracer);
    } else {
      status = tracer.status();
    }
  });
  if (!status.ok()) return status;
  return TracerSlot();
}

void ShutdownCommandTracer() {
  if (TracerSlot() == nullptr) return;
  // A collector that does not answer costs the command at most 5 s more.
  absl::Status done =
      TracerSlot()->Shutdown(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  if (!done.ok())
    std::fprintf(stderr, "llmkit: telemetry not exported: %s\n", done.ToString().c_str());
  TracerSlot().reset();
}

namespace {

// `model` traced when the environment configures a tracer.
template <typename Model>
absl::StatusOr<std::shared_ptr<Model>> Traced(std::shared_ptr<Model> model,
                                              const std::string& provider,
                                              const std::string& default_model) {
  LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<Tracer> tracer, CommandTracer());
  if (tracer == nullptr) return model;
  LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<Model> traced,
                          WithTracing(std::move(model), std::move(tracer),
                                      {.provider = provider, .default_model = default_model}));
  return std::shared_ptr<Model>(std::move(traced));
}

}  // namespace

absl::StatusOr<ChatConfig> ChatFromEnvironment() {
  ChatConfig config;
  const std::string base_url = Env("LLMKIT_BASE_URL");
  const std::string model = Env("LLMKIT_MODEL");
  if (!base_url.empty() || !Env("OPENAI_API_KEY").empty()) {
    OpenAIOptions options;
    options.base_url = base_url;
    options.model = model.empty() ? "gpt-4o-mini" : model;
    LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<ChatModel> client, NewOpenAIClient(options));
    LLMKIT_ASSIGN_OR_RETURN(config.model, WithRetry(std::shared_ptr<ChatModel>(std::move(client))));
    LLMKIT_ASSIGN_OR_RETURN(config.model, Traced(config.model, "openai", options.model));
    config.model_name = options.model;
    config.provider =
        base_url.empty() ? "OpenAI" : absl::StrCat("OpenAI-compatible server ", base_url);
    return config;
  }
  if (!Env("ANTHROPIC_API_KEY").empty()) {
    AnthropicOptions options;
    options.model = model.empty() ? "claude-3-5-haiku-latest" : model;
    LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<ChatModel> client, NewAnthropicClient(options));
    LLMKIT_ASSIGN_OR_RETURN(config.model, WithRetry(std::shared_ptr<ChatModel>(std::move(client))));
    LLMKIT_ASSIGN_OR_RETURN(config.model, Traced(config.model, "anthropic", options.model));
    config.model_name = options.model;
    config.provider = "Anthropic";
  }
  return config;
}

absl::StatusOr<std::shared_ptr<EmbeddingModel>> EmbedderFromEnvironment(const std::string& model) {
  if (Env("LLMKIT_BASE_URL").empty() && Env("OPENAI_API_KEY").empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the embedding model \"", model,
        "\" needs an OpenAI-compatible server: set LLMKIT_BASE_URL (or OPENAI_API_KEY)"));
  }
  OpenAIOptions options;
  options.base_url = Env("LLMKIT_BASE_URL");
  options.model = model;
  LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<EmbeddingModel> client, NewOpenAIEmbeddingModel(options));
  LLMKIT_ASSIGN_OR_RETURN(std::shared_ptr<EmbeddingModel> retried,
                          WithRetry(std::shared_ptr<EmbeddingModel>(std::move(client))));
  return Traced(std::move(retried), "openai", model);
}

const char kStoreHelp[] =
    "where the chunks live: postgresql://... (pgvector) or chroma://HOST:PORT/COLLECTION "
    "(default: $LLMKIT_STORE, else INDEX itself)";
const char kTableHelp[] = "the pgvector store's table (default llmkit_chunks)";

absl::StatusOr<std::shared_ptr<VectorStore>> OpenStore(const std::string& url,
                                                       const std::string& table, int dim) {
  if (url.empty()) return std::shared_ptr<VectorStore>();
  if (absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://")) {
    PgVectorStoreOptions options;
    options.dsn = url;
    options.table = table.empty() ? "llmkit_chunks" : table;
    options.dim = dim;
    LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<PgVectorStore> store, PgVectorStore::Connect(options));
    return std::shared_ptr<VectorStore>(std::move(store));
  }
  for (const std::string scheme : {"chroma://", "chromas://"}) {
    if (!absl::StartsWith(url, scheme)) continue;
    std::string rest = url.substr(scheme.size());
    const size_t slash = rest.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) {
      return absl::InvalidArgumentError("--store: a Chroma store is chroma://HOST:PORT/COLLECTION");
    }
    ChromaStoreOptions options;
    options.url =
        absl::StrCat(scheme == "chroma://" ? "http://" : "https://", rest.substr(0, slash));
    options.collection = rest.substr(slash + 1);
    options.dim = dim;
    options.token = Env("CHROMA_TOKEN");
    LLMKIT_ASSIGN_OR_RETURN(std::unique_ptr<ChromaStore> store, ChromaStore::Connect(options));
    return std::shared_ptr<VectorStore>(std::move(store));
  }
  return absl::InvalidArgumentError(
      "--store: expected postgresql://... or chroma://HOST:PORT/COLLECTION");
}

absl::StatusOr<std::unique_ptr<RagPipeline>> OpenIndex(const std::string& dir,
                                                       const ChatConfig& chat,
                                                       std::shared_ptr<VectorStore> store) {
  RagModels models;
  models.store = std::move(store);
  models.chat = chat.model;
  models.chat_model = chat.model_name;
  // An index built with an endpoint's model names it in rag.json.
  absl::StatusOr<std::string> settings = ReadWholeFile(dir + "/rag.json");
  if (settings.ok()) {
    absl::StatusOr<Json> json = Json::Parse(*settings);
    const Json* embedder = json.ok() ? json->Find("embedder") : nullptr;
    const Json* kind = embedder != nullptr ? embedder->Find("kind") : nullptr;
    const Json* name = embedder != nullptr ? embedder->Find("name") : nullptr;
    if (kind != nullptr && kind->is_string() && kind->as_string() == "model" && name != nullptr &&
        name->is_string()) {
      LLMKIT_ASSIGN_OR_RETURN(models.embedder, EmbedderFromEnvironment(name->as_string()));
      models.embedding_model = name->as_string();
    }
  }
  const bool no_store = models.store == nullptr;
  absl::StatusOr<std::unique_ptr<RagPipeline>> rag = RagPipeline::Load(dir, std::move(models));
  if (no_store && absl::IsFailedPrecondition(rag.status()) &&
      absl::StrContains(rag.status().message(), "store")) {
    return absl::FailedPreconditionError(
        absl::StrCat(rag.status().message(), " (--store URL, or LLMKIT_STORE)"));
  }
  return rag;
}

}  // namespace llmkit::cli
