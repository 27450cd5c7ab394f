// RAG: documents in, cited passages out, with the local defaults (no model server), then saved
// and loaded. ctest runs it and checks the output.
//
//   build/release/examples/rag_quickstart /tmp/llmkit-rag

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "llmkit/rag.h"

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/llmkit-rag-example";

  // Local defaults: the lexical embedder, hybrid retrieval, no chat model.
  absl::StatusOr<std::unique_ptr<llmkit::RagPipeline>> rag =
      llmkit::RagPipeline::Create({.chunk_size = 200, .chunk_overlap = 0});
  if (!rag.ok()) return 1;

  std::vector<llmkit::RagDocument> docs = {
      {.id = "tides",
       .text = "Tides\n\nThe moon's gravity pulls on the oceans.\nSpring tides come at new and "
               "full moon.\n",
       .metadata = llmkit::Json::Parse(R"({"topic": "sea"})").value(),
       .path = "notes/tides.txt"},
      {.id = "bread",
       .text = "Bread\n\nKnead the dough, let it rise, bake until brown.\n",
       .metadata = llmkit::Json::Parse(R"({"topic": "food"})").value(),
       .path = "notes/bread.txt"},
  };
  absl::StatusOr<llmkit::IngestProgress> stats = (*rag)->Ingest(docs);
  if (!stats.ok()) return 1;
  std::printf("ingested %zu documents, %zu chunks\n", stats->documents_done, stats->chunks);

  // Without a chat model, Answer returns the passages and the prompt, and says so.
  absl::StatusOr<llmkit::RagAnswer> answer = (*rag)->Answer("When do spring tides come?");
  if (!answer.ok()) return 1;
  std::printf("generated: %s\n", answer->generated ? "yes" : "no");
  for (const llmkit::RagPassage& p : answer->citations) {
    std::printf("[%d] %s:%d-%d bytes %zu-%zu\n", p.n, p.path.c_str(), p.line_start, p.line_end,
                p.begin, p.end);
  }

  // Re-ingesting unchanged documents does no work; the index survives a save and a load.
  stats = (*rag)->Ingest(docs);
  if (!stats.ok()) return 1;
  std::printf("unchanged: %zu, embedded: %zu\n", stats->documents_unchanged,
              stats->chunks_embedded);
  if (!(*rag)->Save(dir).ok()) return 1;
  absl::StatusOr<std::unique_ptr<llmkit::RagPipeline>> loaded = llmkit::RagPipeline::Load(dir);
  if (!loaded.ok()) return 1;
  absl::StatusOr<std::vector<llmkit::RagPassage>> hits =
      (*loaded)->Retrieve("kneading dough", 1, llmkit::Json::Parse(R"({"topic": "food"})").value());
  if (!hits.ok() || hits->empty()) return 1;
  std::printf("loaded: %s lines %d-%d\n", hits->front().doc_id.c_str(), hits->front().line_start,
              hits->front().line_end);
  return 0;
}
