// llmkit index DIR -o INDEX: ingest a directory into a saved pipeline, with a progress bar on a
// terminal (plain lines otherwise); an existing INDEX is updated (unchanged files cost nothing).

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "args.h"
#include "commands.h"
#include "llmkit/call.h"
#include "llmkit/rag.h"
#include "models.h"

namespace llmkit::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Ctrl-C and SIGTERM cancel the ingest (Cancel is one atomic store: safe in a handler); the
// handler then steps aside, so a second Ctrl-C ends the process at once (saves are atomic).
Cancellation* interrupt_target = nullptr;
std::atomic<int> interrupted{0};

extern "C" void OnInterrupt(int signal_number) {
  interrupted.store(signal_number);
  if (interrupt_target != nullptr) interrupt_target->Cancel();
  ::signal(signal_number, SIG_DFL);
}

const CommandSpec kSpec = {
    "index",
    "DIR -o INDEX [options]",
    "Indexes the text, Markdown, reStructuredText and source files under DIR into the directory\n"
    "INDEX (chunks, vectors and a BM25 index). Run it again to update INDEX: unchanged files are\n"
    "skipped, changed ones re-chunked (unchanged chunks keep their vectors), deleted ones "
    "removed.\n"
    "Vectors come from the built-in local lexical embedder unless --embedder names a model of the\n"
    "OpenAI-compatible server in LLMKIT_BASE_URL (or OpenAI with OPENAI_API_KEY).",
    {"DIR"},
    {
        {"--output", "-o", "INDEX", "where the index is written (required)"},
        {"--chunk-size", "", "N", "chunk size in code points (default 512; new index only)"},
        {"--chunk-overlap", "", "N", "overlap between chunks (default 64; new index only)"},
        {"--embedder", "", "MODEL", "\"local\" (default) or an embedding model of the server"},
        {"--ext", "", "LIST",
         "comma-separated file endings (default: text, docs and source, and files without an "
         "extension that read as UTF-8 text)"},
        {"--max-file-mb", "", "N", "skip (and list) files larger than N MB (default 16)"},
        {"--index", "", "KIND", "flat (default, exact), hnsw or ivf (new index only)"},
        {"--store", "", "URL", kStoreHelp},
        {"--table", "", "NAME", kTableHelp},
        {"--quiet", "-q", "", "no progress output"},
    }};

std::string Rate(double count, double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.0f", seconds > 0 ? count / seconds : 0.0);
  return buffer;
}

}  // namespace

int RunIndex(int argc, char** argv) {
  int exit = kExitOk;
  std::optional<Args> args = Args::Parse(kSpec, argc, argv, 2, &exit);
  if (!args) return exit;
  const std::string dir = args->positional(0);
  const std::string out = args->Get("--output");
  if (out.empty()) {
    std::fprintf(stderr, "llmkit index: -o INDEX is required\n");
    return kExitUsage;
  }
  std::optional<long> chunk_size = args->Number("--chunk-size", 512, 1, 1 << 24);
  std::optional<long> chunk_overlap = args->Number("--chunk-overlap", 64, 0, 1 << 24);
  std::optional<long> max_file_mb = args->Number("--max-file-mb", 16, 1, 1 << 20);
  if (!chunk_size || !chunk_overlap || !max_file_mb) return kExitUsage;
  const std::string kind_name = args->Get("--index", "flat");
  const std::optional<IndexKind> kind = IndexKindFromName(kind_name);
  if (!kind) {
    std::fprintf(stderr, "llmkit index: --index must be flat, hnsw or ivf, got \"%s\"\n",
                 kind_name.c_str());
    return kExitUsage;
  }
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    std::fprintf(stderr, "llmkit index: %s is not a directory%s%s\n", dir.c_str(),
                 error ? ": " : "", error ? error.message().c_str() : "");
    return kExitFailure;
  }

  // One update at a time: held from loading the index to its last save, so that two runs on
  // one INDEX each see the other's files instead of overwriting them (it waits up to 30 s).
  absl::StatusOr<RagPipeline::WriteLock> writer = RagPipeline::LockForWriting(out);
  if (!writer.ok()) {
    std::fprintf(stderr, "llmkit index: %s\n", std::string(writer.status().message()).c_str());
    return kExitFailure;
  }

  std::unique_ptr<RagPipeline> rag;
  const bool update = std::filesystem::exists(out + "/rag.json", error);
  if (error) {
    std::fprintf(stderr, "llmkit index: %s: %s\n", out.c_str(), error.message().c_str());
    return kExitFailure;
  }
  const char* env_store = std::getenv("LLMKIT_STORE");
  const std::string store_url = args->Get("--store", env_store != nullptr ? env_store : "");
  if (update) {
    absl::StatusOr<std::shared_ptr<VectorStore>> store =
        OpenStore(store_url, args->Get("--table"), 0);
    if (!store.ok()) {
      std::fprintf(stderr, "llmkit index: %s\n", std::string(store.status().message()).c_str());
      return kExitFailure;
    }
    absl::StatusOr<std::unique_ptr<RagPipeline>> opened = OpenIndex(out, {}, *std::move(store));
    if (!opened.ok()) {
      std::fprintf(stderr, "llmkit index: %s\n", std::string(opened.status().message()).c_str());
      return kExitFailure;
    }
    rag = *std::move(opened);
    if ((args->Has("--chunk-size") && rag->options().chunk_size != size_t(*chunk_size)) ||
        (args->Has("--chunk-overlap") && rag->options().chunk_overlap != size_t(*chunk_overlap))) {
      std::fprintf(stderr,
                   "llmkit index: %s was built with chunk size %zu and overlap %zu; use a new "
                   "INDEX for other sizes\n",
                   out.c_str(), rag->options().chunk_size, rag->options().chunk_overlap);
      return kExitUsage;
    }
  } else {
    RagOptions options;
    options.chunk_size = static_cast<size_t>(*chunk_size);
    options.chunk_overlap = static_cast<size_t>(*chunk_overlap);
    options.index = *kind;
    const std::string embedder = args->Get("--embedder", "local");
    if (embedder != "local") {
      absl::StatusOr<std::shared_ptr<EmbeddingModel>> model = EmbedderFromEnvironment(embedder);
      if (!model.ok()) {
        std::fprintf(stderr, "llmkit index: %s\n", std::string(model.status().message()).c_str());
        return kExitFailure;
      }
      options.embedder = *model;
      options.embedding_model = embedder;
    }
    if (!store_url.empty()) {
      // The store is made for the embedding dimension: the local embedder's, or the model's
      // (one probe embedding).
      int dim = options.local_embedder.dimensions;
      if (options.embedder != nullptr) {
        EmbedOptions probe;
        probe.model = options.embedding_model;
        absl::StatusOr<Embeddings> e = options.embedder->Embed({"dimension probe"}, probe);
        if (!e.ok()) {
          std::fprintf(stderr, "llmkit index: %s\n", std::string(e.status().message()).c_str());
          return kExitFailure;
        }
        dim = static_cast<int>(e->dimensions);
      }
      absl::StatusOr<std::shared_ptr<VectorStore>> store =
          OpenStore(store_url, args->Get("--table"), dim);
      if (!store.ok()) {
        std::fprintf(stderr, "llmkit index: %s\n", std::string(store.status().message()).c_str());
        return kExitFailure;
      }
      options.store = *std::move(store);
    }
    absl::StatusOr<std::unique_ptr<RagPipeline>> created = RagPipeline::Create(options);
    if (!created.ok()) {
      std::fprintf(stderr, "llmkit index: %s\n", std::string(created.status().message()).c_str());
      return kExitUsage;
    }
    rag = *std::move(created);
  }

  DirectoryOptions directory;
  directory.max_file_bytes = static_cast<size_t>(*max_file_mb) << 20;
  if (args->Has("--ext")) {
    for (absl::string_view ext : absl::StrSplit(args->Get("--ext"), ',', absl::SkipEmpty())) {
      directory.extensions.emplace_back(ext.data(), ext.size());
    }
  }
  const bool quiet = args->Has("--quiet");
  const bool terminal = isatty(STDERR_FILENO) != 0;
  const Clock::time_point start = Clock::now();
  Clock::time_point last_line = start, last_save = start;
  IngestOptions ingest;
  ingest.group_chunks = 256;
  ingest.progress = [&](const IngestProgress& p) {
    const Clock::time_point now = Clock::now();
    if (!quiet) {
      const double seconds = std::chrono::duration<double>(now - start).count();
      if (terminal) {
        const int width = 30;
        const int filled =
            p.documents_total == 0 ? width : int(width * p.documents_done / p.documents_total);
        std::fprintf(stderr, "\r[%s%s] %zu/%zu files  %s files/s  %s chunks/s  ",
                     std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                     p.documents_done, p.documents_total, Rate(p.documents_done, seconds).c_str(),
                     Rate(p.chunks, seconds).c_str());
      } else if (now - last_line >= std::chrono::seconds(2) ||
                 p.documents_done == p.documents_total) {
        std::fprintf(stderr, "indexed %zu/%zu files, %zu chunks (%s files/s, %s chunks/s)\n",
                     p.documents_done, p.documents_total, p.chunks,
                     Rate(p.documents_done, seconds).c_str(), Rate(p.chunks, seconds).c_str());
        last_line = now;
      }
    }
    // A checkpoint every minute: an interrupted run resumes from it.
    if (now - last_save >= std::chrono::seconds(60)) {
      if (absl::Status saved = rag->Save(out); !saved.ok()) {
        std::fprintf(stderr, "\nllmkit index: checkpoint failed: %s\n",
                     std::string(saved.message()).c_str());
      }
      last_save = now;
    }
    return true;
  };
  CallContext call;
  call.cancellation = std::make_shared<Cancellation>();
  interrupt_target = call.cancellation.get();
  struct sigaction action = {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  const size_t latent_before = rag->Stats().latent_documents;
  absl::StatusOr<IngestProgress> result = rag->IngestDirectory(dir, directory, ingest, call);
  if (terminal && !quiet) std::fprintf(stderr, "\n");
  if (!result.ok()) {
    // What was committed is kept: save it so the next run resumes.
    const absl::Status saved = rag->Save(out);
    if (const int signal_number = interrupted.load(); signal_number != 0) {
      std::fprintf(stderr, "llmkit index: interrupted; %s (%zu documents, %zu chunks)%s\n",
                   saved.ok() ? "saved what was indexed" : "could not save what was indexed",
                   rag->Stats().documents, rag->Stats().chunks,
                   saved.ok() ? ": run it again to resume" : "");
      return 128 + signal_number;
    }
    std::fprintf(stderr, "llmkit index: %s\n", std::string(result.status().message()).c_str());
    return kExitFailure;
  }
  const Clock::time_point saving = Clock::now();
  // A latent model fitted for an index saved without one is a change too.
  const bool changed = !update || result->chunks > 0 || result->chunks_removed > 0 ||
                       result->documents_removed > 0 ||
                       rag->Stats().latent_documents != latent_before;
  if (absl::Status saved = changed ? rag->Save(out) : absl::OkStatus(); !saved.ok()) {
    std::fprintf(stderr, "llmkit index: %s\n", std::string(saved.message()).c_str());
    return kExitFailure;
  }
  const double save_seconds = std::chrono::duration<double>(Clock::now() - saving).count();
  const IngestProgress& p = *result;
  for (const std::string& skipped : p.errors) std::fprintf(stderr, "skipped %s\n", skipped.c_str());
  const RagStats stats = rag->Stats();
  std::printf(
      "%s %s: %zu files (%zu unchanged, %zu skipped, %zu removed), %.1f MB, %zu chunks written "
      "(%zu embedded, %zu reused, %zu stale removed) in %.2f s: %s files/s, %s chunks/s; saved "
      "in %.2f s\n",
      update ? "updated" : "indexed", out.c_str(), p.documents_total, p.documents_unchanged,
      p.documents_failed, p.documents_removed, p.bytes / 1e6, p.chunks, p.chunks_embedded,
      p.chunks_reused, p.chunks_removed, p.seconds,
      Rate(p.documents_total - p.documents_unchanged, p.seconds).c_str(),
      Rate(p.chunks, p.seconds).c_str(), save_seconds);
  std::printf("index: %zu documents, %zu chunks, embedder %s (%d dimensions)\n", stats.documents,
              stats.chunks, stats.embedding_model.c_str(), stats.dimensions);
  return kExitOk;
}

}  // namespace llmkit::cli
