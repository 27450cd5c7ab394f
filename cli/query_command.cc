// llmkit query INDEX "question" and llmkit ask INDEX "question".

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "args.h"
#include "blas_threads.h"
#include "commands.h"
#include "llmkit/cache.h"
#include "llmkit/index.h"
#include "llmkit/json.h"
#include "llmkit/rag.h"
#include "models.h"

namespace llmkit::cli {
namespace {

const OptionSpec kK = {"--k", "-k", "N", "passages to retrieve (default: the index's, 5)"};
const OptionSpec kWhere = {"--where", "", "JSON",
                           "metadata filter, e.g. '{\"path\": {\"$in\": [...]}}' (see "
                           "docs/retrieval.md)"};
const OptionSpec kJson = {"--json", "", "", "print JSON instead of text"};
const OptionSpec kStore = {"--store", "", "URL", kStoreHelp};
const OptionSpec kTable = {"--table", "", "NAME", kTableHelp};

const CommandSpec kQuerySpec = {
    "query",
    "INDEX QUESTION [options]",
    "Prints the passages of INDEX that best match QUESTION: rank, score, file and line range,\n"
    "and the start of the text (all of it with --full).",
    {"INDEX", "QUESTION"},
    {kK, kWhere, kJson, kStore, kTable, {"--full", "", "", "print whole passages"}},
};

const CommandSpec kAskSpec = {
    "ask",
    "INDEX QUESTION [options]",
    "Answers QUESTION from the passages of INDEX with a chat model, citing them as [n] with file\n"
    "and line range. Without a configured model it prints the passages and the prompt it would\n"
    "send, and how to configure one.\n\n" +
        std::string(kModelHelp),
    {"INDEX", "QUESTION"},
    {kK,
     kWhere,
     kJson,
     kStore,
     kTable,
     {"--no-stream", "", "", "print the answer when it is complete"},
     {"--cache", "", "DIR|URL",
      "answer a question asked before (same index, passages and model) from a cache: a\n"
      "directory kept across runs, or redis://host:port shared by every process using it\n"
      "(docs/cache.md); the model is not called and no tokens are billed"}},
};

// One line of text: newlines and runs of spaces become one space; cut at `limit` bytes on a
// UTF-8 boundary.
std::string Snippet(std::string_view text, size_t limit) {
  std::string out;
  for (char c : text) {
    const bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (space) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  if (out.size() > limit) {
    size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "...";
  }
  return out;
}

struct Opened {
  std::unique_ptr<RagPipeline> rag;
  int k = 0;
  Json where;
};

// Reads the shared options and opens the index; returns the exit status on failure.
std::optional<Opened> Open(const char* command, const Args& args, const ChatConfig& chat,
                           int* exit) {
  Opened out;
  std::optional<long> k = args.Number("--k", 0, 1, 1000);
  if (!k) {
    *exit = kExitUsage;
    return std::nullopt;
  }
  out.k = static_cast<int>(*k);
  if (args.Has("--where")) {
    absl::StatusOr<Json> where = Json::Parse(args.Get("--where"));
    if (!where.ok()) {
      std::fprintf(stderr, "llmkit %s: --where: %s\n", command,
                   std::string(where.status().message()).c_str());
      *exit = kExitUsage;
      return std::nullopt;
    }
    // An unknown operator or a malformed filter is a bad command line too (exit 2), found
    // before the index is opened.
    if (absl::StatusOr<Filter> filter = Filter::Parse(*where); !filter.ok()) {
      std::fprintf(stderr, "llmkit %s: --where: %s\n", command,
                   std::string(filter.status().message()).c_str());
      *exit = kExitUsage;
      return std::nullopt;
    }
    out.where = *std::move(where);
  }
  const char* env_store = std::getenv("LLMKIT_STORE");
  absl::StatusOr<std::shared_ptr<VectorStore>> store =
      OpenStore(args.Get("--store", env_store != nullptr ? env_store : ""), args.Get("--table"), 0);
  if (!store.ok()) {
    std::fprintf(stderr, "llmkit %s: %s\n", command, std::string(store.status().message()).c_str());
    *exit = kExitFailure;
    return std::nullopt;
  }
  absl::StatusOr<std::unique_ptr<RagPipeline>> rag =
      OpenIndex(args.positional(0), chat, *std::move(store));
  if (!rag.ok()) {
    std::fprintf(stderr, "llmkit %s: %s\n", command, std::string(rag.status().message()).c_str());
    *exit = kExitFailure;
    return std::nullopt;
  }
  out.rag = *std::move(rag);
  return out;
}

void PrintPassages(const std::vector<RagPassage>& passages, bool full) {
  for (const RagPassage& p : passages) {
    std::printf("[%d] %.4f  %s:%d-%d\n", p.n, p.score, p.path.c_str(), p.line_start, p.line_end);
    if (full) {
      std::printf("%s\n\n", p.text.c_str());
    } else {
      std::printf("    %s\n", Snippet(p.text, 240).c_str());
    }
  }
}

}  // namespace

int RunQuery(int argc, char** argv) {
  StopIdleBlasThreads();
  int exit = kExitOk;
  std::optional<Args> args = Args::Parse(kQuerySpec, argc, argv, 2, &exit);
  if (!args) return exit;
  std::optional<Opened> opened = Open("query", *args, {}, &exit);
  if (!opened) return exit;
  absl::StatusOr<std::vector<RagPassage>> passages =
      opened->rag->Retrieve(args->positional(1), opened->k, opened->where);
  if (!passages.ok()) {
    std::fprintf(stderr, "llmkit query: %s\n", std::string(passages.status().message()).c_str());
    return kExitFailure;
  }
  if (args->Has("--json")) {
    Json out = Json::MakeArray();
    for (const RagPassage& p : *passages) out.push_back(PassageToJson(p));
    std::printf("%s\n", out.Dump({.indent = 2}).c_str());
    return kExitOk;
  }
  if (passages->empty()) std::printf("no passage matches\n");
  PrintPassages(*passages, args->Has("--full"));
  return kExitOk;
}

int RunAsk(int argc, char** argv) {
  StopIdleBlasThreads();
  int exit = kExitOk;
  std::optional<Args> args = Args::Parse(kAskSpec, argc, argv, 2, &exit);
  if (!args) return exit;
  absl::StatusOr<ChatConfig> chat = ChatFromEnvironment();
  if (!chat.ok()) {
    std::fprintf(stderr, "llmkit ask: %s\n", std::string(chat.status().message()).c_str());
    return kExitFailure;
  }
  if (args->Has("--cache") && chat->model != nullptr) {
    const std::string where = args->Get("--cache");
    ResponseCacheOptions storage;
    (where.rfind("redis://", 0) == 0 ? storage.redis_url : storage.path) = where;
    absl::StatusOr<std::shared_ptr<ResponseCache>> cache = ResponseCache::Create(storage);
    // The pipeline asks at temperature 0; an answer is worth keeping whatever the sampling.
    absl::StatusOr<std::unique_ptr<ChatModel>> cached =
        cache.ok() ? WithCache(chat->model, *cache, {.cache_sampled = true})
                   : absl::StatusOr<std::unique_ptr<ChatModel>>(cache.status());
    if (!cached.ok()) {
      std::fprintf(stderr, "llmkit ask: --cache %s: %s\n", where.c_str(),
                   std::string(cached.status().message()).c_str());
      return kExitFailure;
    }
    chat->model = std::shared_ptr<ChatModel>(*std::move(cached));
  }
  std::optional<Opened> opened = Open("ask", *args, *chat, &exit);
  if (!opened) return exit;
  const bool json = args->Has("--json");
  const bool stream = !json && !args->Has("--no-stream") && chat->model != nullptr;
  AnswerOptions options;
  options.k = opened->k;
  options.where = opened->where;
  if (stream) {
    options.on_text = [](std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    };
  }
  absl::StatusOr<RagAnswer> answer = opened->rag->Answer(args->positional(1), options);
  if (!answer.ok()) {
    std::fprintf(stderr, "%sllmkit ask: %s\n", stream ? "\n" : "",
                 std::string(answer.status().message()).c_str());
    return kExitFailure;
  }
  if (json) {
    Json out = Json::MakeObject();
    out.Set("generated", answer->generated);
    out.Set("text", answer->text);
    out.Set("model", answer->model);
    Json citations = Json::MakeArray();
    for (const RagPassage& p : answer->citations) citations.push_back(PassageToJson(p));
    out.Set("citations", std::move(citations));
    Json context = Json::MakeArray();
    for (const RagPassage& p : answer->context) context.push_back(PassageToJson(p));
    out.Set("context", std::move(context));
    out.Set("prompt", answer->prompt);
    Json usage = Json::MakeObject();
    usage.Set("input_tokens", answer->usage.input_tokens);
    usage.Set("output_tokens", answer->usage.output_tokens);
    out.Set("usage", std::move(usage));
    std::printf("%s\n", out.Dump({.indent = 2}).c_str());
    return kExitOk;
  }
  if (!answer->generated) {
    std::printf("%s\n\nRetrieved passages:\n", answer->text.c_str());
    PrintPassages(answer->context, /*full=*/false);
    std::printf("\nPrompt:\n%s\n%s", answer->prompt.c_str(), kModelHelp);
    return kExitOk;
  }
  if (!stream) std::printf("%s", answer->text.c_str());
  std::printf("\n\nSources (%s, %lld input + %lld output tokens):\n", answer->model.c_str(),
              static_cast<long long>(answer->usage.input_tokens),
              static_cast<long long>(answer->usage.output_tokens));
  for (const RagPassage& p : answer->citations) {
    std::printf("[%d] %s:%d-%d\n", p.n, p.path.c_str(), p.line_start, p.line_end);
  }
  if (answer->citations.empty()) std::printf("(the answer cites no passage)\n");
  return kExitOk;
}

}  // namespace llmkit::cli
