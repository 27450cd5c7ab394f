// The models the command line uses, configured from the environment:
//   LLMKIT_BASE_URL   an OpenAI-compatible server (e.g. http://127.0.0.1:8080/v1)
//   OPENAI_API_KEY    OpenAI (or the key of LLMKIT_BASE_URL's server)
//   ANTHROPIC_API_KEY Anthropic, when neither of the above is set
//   LLMKIT_MODEL      the chat model (default gpt-4o-mini / claude-3-5-haiku-latest)
// Every model is wrapped in WithRetry (the SDKs' rule).

#ifndef LLMKIT_CLI_MODELS_H_
#define LLMKIT_CLI_MODELS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "llmkit/chat.h"
#include "llmkit/embeddings.h"
#include "llmkit/observe.h"
#include "llmkit/rag.h"
#include "llmkit/store.h"

namespace llmkit::cli {

struct ChatConfig {
  std::shared_ptr<ChatModel> model;  // Null when the environment configures none.
  std::string model_name;
  std::string provider;  // "OpenAI-compatible (URL)" or "Anthropic"
};

// The models below are traced (observe.h) when the OTEL_* variables name an OTLP endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT, or its _TRACES_/_METRICS_ variants) and OTEL_SDK_DISABLED is
// not true; main calls ShutdownCommandTracer before exiting, which exports within 5 s.
absl::StatusOr<std::shared_ptr<Tracer>> CommandTracer();  // Null when not configured.
void ShutdownCommandTracer();

absl::StatusOr<ChatConfig> ChatFromEnvironment();

// An embedding model of the OpenAI-compatible server the environment names.
absl::StatusOr<std::shared_ptr<EmbeddingModel>> EmbedderFromEnvironment(const std::string& model);

// The store named by --store (or LLMKIT_STORE): "postgresql://..." / "postgres://..." (a libpq
// URL; the table from --table, default llmkit_chunks) or "chroma://HOST:PORT/COLLECTION"
// ("chromas://" for https). Empty `url`: null (the index's own local store). `dim` is the
// embedding dimension (0: read from an existing table or collection).
absl::StatusOr<std::shared_ptr<VectorStore>> OpenStore(const std::string& url,
                                                       const std::string& table, int dim);

// Loads a saved index; when it was built with an endpoint's embedding model, that model is
// reached through the environment's server; when it keeps its chunks in a remote store,
// `store` must be that store.
absl::StatusOr<std::unique_ptr<RagPipeline>> OpenIndex(const std::string& dir,
                                                       const ChatConfig& chat,
                                                       std::shared_ptr<VectorStore> store = {});

// --store and --table, as index, query and ask take them.
extern const char kStoreHelp[];
extern const char kTableHelp[];

// How to configure a model, for messages.
extern const char kModelHelp[];

}  // namespace llmkit::cli

#endif  // LLMKIT_CLI_MODELS_H_
