// Retrieval: a Collection with metadata filters, BM25 beside it, hybrid search, save and load
// (and a BM25 snapshot opened in place).
// ctest runs it and checks the output.
//
//   build/release/examples/retrieval_quickstart /tmp/llmkit-retrieval

#include <cstdio>
#include <string>
#include <vector>

#include "llmkit/bm25.h"
#include "llmkit/index.h"
#include "llmkit/retriever.h"

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "/tmp/llmkit-retrieval-example";

  // A collection of documents with 3-dimensional toy embeddings (use a real model's).
  absl::StatusOr<std::unique_ptr<llmkit::Collection>> col = llmkit::Collection::Create(
      {.dim = 3, .metric = llmkit::Metric::kCosine, .index = llmkit::IndexKind::kFlat});
  if (!col.ok()) return 1;
  std::vector<llmkit::Document> docs = {
      {"faiss",
       "FAISS searches dense vectors quickly.",
       llmkit::Json::Parse(R"({"year": 2017})").value(),
       {0.9f, 0.1f, 0.0f}},
      {"bm25",
       "BM25 ranks documents by keyword statistics.",
       llmkit::Json::Parse(R"({"year": 1994})").value(),
       {0.1f, 0.9f, 0.1f}},
      {"hnsw",
       "HNSW graphs answer vector queries approximately.",
       llmkit::Json::Parse(R"({"year": 2016})").value(),
       {0.8f, 0.0f, 0.3f}},
  };
  if (!(*col)->Add(docs).ok()) return 1;

  // Vector search with a Chroma-style filter.
  std::vector<float> query = {1.0f, 0.0f, 0.1f};
  absl::StatusOr<std::vector<llmkit::SearchHit>> hits = (*col)->Search(
      query, {.k = 2, .where = llmkit::Json::Parse(R"({"year": {"$gte": 2000}})").value()});
  if (!hits.ok()) return 1;
  for (const llmkit::SearchHit& hit : *hits)
    std::printf("vector: %s %.3f\n", hit.id.c_str(), hit.score);

  // BM25 over the same ids, and hybrid retrieval fusing both lists.
  absl::StatusOr<std::unique_ptr<llmkit::Bm25Index>> bm25 = llmkit::Bm25Index::Create();
  if (!bm25.ok()) return 1;
  std::vector<std::string> ids, texts;
  for (const llmkit::Document& d : docs) ids.push_back(d.id), texts.push_back(d.text);
  if (!(*bm25)->Add(ids, texts).ok()) return 1;
  // Options are checked here (kInvalidArgument naming a bad field, or a missing index).
  absl::StatusOr<llmkit::Retriever> retriever =
      llmkit::Retriever::Create(col->get(), bm25->get(), {.mode = llmkit::RetrievalMode::kHybrid});
  if (!retriever.ok()) return 1;
  absl::StatusOr<std::vector<llmkit::RetrievedHit>> fused =
      retriever->Search({.text = "keyword ranking of documents", .vector = query, .k = 3});
  if (!fused.ok()) return 1;
  for (const llmkit::RetrievedHit& hit : *fused) {
    std::printf("hybrid: %s %.3f (vector rank %d, lexical rank %d)\n", hit.id.c_str(), hit.score,
                hit.vector_rank, hit.lexical_rank);
  }

  // Save atomically, load back.
  if (!(*col)->Save(dir).ok()) return 1;
  absl::StatusOr<std::unique_ptr<llmkit::Collection>> loaded = llmkit::Collection::Load(dir);
  if (!loaded.ok()) return 1;
  std::printf("loaded %zu documents\n", (*loaded)->Size());

  // A snapshot of a BM25 index, opened in place.
  if (!(*bm25)->Save(dir + "/lexical.bm25").ok()) return 1;
  absl::StatusOr<std::unique_ptr<llmkit::Bm25Index>> opened =
      llmkit::Bm25Index::Open(dir + "/lexical.bm25");
  if (!opened.ok()) return 1;
  std::printf("opened a BM25 index of %zu documents\n", (*opened)->Size());
  return 0;
}
