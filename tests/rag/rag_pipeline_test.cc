// The RAG pipeline: the local embedder and the cache, ingest (offsets, line ranges, change
// detection, chunk reuse, cancellation and resume), retrieval, answers with citations, save and
// load, directories; and end to end against OpenAI-compatible chat and embedding endpoints on
// 127.0.0.1.

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "embeddings/embedding_response.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/test_server.h"
#include "llmkit/embeddings.h"
#include "llmkit/openai.h"
#include "llmkit/rag.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

namespace fs = std::filesystem;
using ::llmkit::testing::Reply;
using ::llmkit::testing::Script;
using ::llmkit::testing::ServerRequest;
using ::llmkit::testing::TestServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

double Cosine(absl::Span<const float> a, absl::Span<const float> b) {
  double dot = 0;
  for (size_t i = 0; i < a.size(); ++i) dot += double{a[i]} * b[i];
  return dot;  // Both unit length.
}

std::vector<RagDocument> Library() {
  return {
      {.id = "volcanoes",
       .text = "# Volcanoes\n\nA volcano is an opening in the crust where molten rock erupts.\n\n"
               "## Eruptions\n\nBasaltic eruptions are effusive; rhyolitic ones are explosive "
               "because their magma is viscous and traps gas.\n",
       .metadata = Json(Json::Object{{"topic", "geology"}}),
       .path = "notes/volcanoes.md"},
      {.id = "bread",
       .text = "Baking bread\n\nKnead the dough until it is smooth and elastic. Let it rise in a "
               "warm place until doubled.\nBake at 230 degrees until the crust is brown.\n",
       .metadata = Json(Json::Object{{"topic", "cooking"}}),
       .path = "notes/bread.txt"},
      {.id = "tides",
       .text = "Tides are caused by the gravity of the moon and the sun pulling on the oceans. "
               "Spring tides happen at new and full moon.\n",
       .path = "notes/tides.txt"},
  };
}

std::unique_ptr<RagPipeline> Pipeline(RagOptions options = {}) {
  options.chunk_size = options.chunk_size == 512 ? 120 : options.chunk_size;
  options.chunk_overlap = options.chunk_overlap == 64 ? 0 : options.chunk_overlap;
  auto rag = RagPipeline::Create(std::move(options));
  EXPECT_TRUE(rag.ok()) << rag.status();
  return std::move(*rag);
}

TEST(LocalEmbedder, DeterministicUnitVectorsThatFollowSharedWords) {
  auto model = NewLocalEmbeddingModel();
  ASSERT_TRUE(model.ok());
  std::vector<std::string> texts = {"volcanic eruptions of magma", "the volcano erupted magma",
                                    "knead the bread dough", "!!!"};
  auto a = (*model)->Embed(texts);
  auto b = (*NewLocalEmbeddingModel())->Embed(texts);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->values, b->values);  // Same vectors from another instance.
  EXPECT_EQ(a->dimensions, 1024u);
  EXPECT_EQ(a->model, "llmkit-lexical-v1-d1024-c3-5-p0");
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_NEAR(Cosine(a->row(i), a->row(i)), 1.0, 1e-5);
  EXPECT_GT(Cosine(a->row(0), a->row(1)), Cosine(a->row(0), a->row(2)) + 0.2);
  // Fixed values guard the hashing: changing it would silently invalidate saved indexes.
  auto fixed = (*model)->Embed({"hello world"});
  ASSERT_TRUE(fixed.ok());
  size_t nonzero = 0, largest = 0;
  for (size_t d = 0; d < fixed->dimensions; ++d) {
    nonzero += fixed->values[d] != 0;
    if (std::abs(fixed->values[d]) > std::abs(fixed->values[largest])) largest = d;
  }
  // 2 words and 2 x 12 character n-grams of "<hello>" / "<world>", no collision; a word weighs
  // ln(1 + 1), an n-gram ln(1 + 0.5).
  EXPECT_EQ(nonzero, 26u);
  EXPECT_EQ(largest, 339u);
  const double norm = std::sqrt(2 * std::pow(std::log(2.0), 2) + 24 * std::pow(std::log(1.5), 2));
  EXPECT_NEAR(std::abs(fixed->values[largest]), std::log(2.0) / norm, 1e-6);
  EXPECT_FALSE(NewLocalEmbeddingModel({.dimensions = 4}).ok());
  EXPECT_FALSE(NewLocalEmbeddingModel({.char_ngram_min = 4, .char_ngram_max = 3}).ok());
}

TEST(EmbeddingCache, EmbedsEachTextOnce) {
  struct Counting : EmbeddingModel {
    std::vector<std::string> seen;
    absl::StatusOr<Embeddings> Embed(absl::Span<const std::string> inputs, const EmbedOptions&,
                                     const CallContext&) override {
      Embeddings e;
      e.dimensions = 2;
      for (const std::string& s : inputs) {
        seen.push_back(s);
        e.values.push_back(static_cast<float>(s.size()));
        e.values.push_back(1);
      }
      return e;
    }
  };
  auto counting = std::make_shared<Counting>();
  CachedEmbeddingModel cache(counting, "m", /*max_entries=*/2);
  auto first = cache.Embed({"a", "bb"});
  auto second = cache.Embed({"bb", "ccc", "a"});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_THAT(counting->seen, ElementsAre("a", "bb", "ccc"));
  EXPECT_EQ(second->values, (std::vector<float>{2, 1, 3, 1, 1, 1}));
  // Capacity 2: "a" was least recently used when "ccc" came in... then read again.
  EmbeddingCacheStats stats = cache.Stats();
  EXPECT_EQ(stats.hits, 2u);
  EXPECT_EQ(stats.misses, 3u);
  EXPECT_EQ(stats.entries, 2u);
  // Another model name is another key.
  ASSERT_TRUE(cache.Embed({"bb"}, {.model = "other"}).ok());
  EXPECT_EQ(counting->seen.back(), "bb");
}

TEST(CitedNumbers, ReadsBracketedNumbers) {
  EXPECT_THAT(CitedNumbers("A [2]. B [1][3], C [1, 4] and [9] [x] [2", 4), ElementsAre(2, 1, 3, 4));
  EXPECT_THAT(CitedNumbers("none", 3), ElementsAre());
  EXPECT_THAT(CitedNumbers("[0] [99999999999]", 3), ElementsAre());
}

TEST(RagPipeline, IngestRetrieveWithOffsetsLinesAndMetadata) {
  auto rag = Pipeline();
  std::vector<RagDocument> docs = Library();
  auto stats = rag->Ingest(docs);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->documents_done, 3u);
  EXPECT_EQ(stats->chunks, stats->chunks_embedded);
  EXPECT_GT(stats->chunks, 3u);

  auto passages = rag->Retrieve("why are rhyolitic eruptions explosive", 3);
  ASSERT_TRUE(passages.ok()) << passages.status();
  ASSERT_FALSE(passages->empty());
  const RagPassage& top = passages->front();
  EXPECT_EQ(top.n, 1);
  EXPECT_EQ(top.doc_id, "volcanoes");
  EXPECT_EQ(top.path, "notes/volcanoes.md");
  EXPECT_THAT(top.text, HasSubstr("rhyolitic"));
  EXPECT_EQ(docs[0].text.substr(top.begin, top.end - top.begin), top.text);
  EXPECT_EQ(top.line_start, 7);  // The heading line is in "headings", not the text.
  EXPECT_EQ(top.line_end, 7);
  EXPECT_EQ(top.metadata.Find("topic")->as_string(), "geology");
  EXPECT_THAT(top.metadata.Find("headings")->Dump(), HasSubstr("Eruptions"));

  auto filtered = rag->Retrieve("crust", 5, Json(Json::Object{{"topic", "cooking"}}));
  ASSERT_TRUE(filtered.ok());
  ASSERT_FALSE(filtered->empty());
  for (const RagPassage& p : *filtered) EXPECT_EQ(p.doc_id, "bread");

  RagStats s = rag->Stats();
  EXPECT_EQ(s.documents, 3u);
  EXPECT_EQ(s.chunks, stats->chunks);
  EXPECT_EQ(s.dimensions, 1024);
}

TEST(RagPipeline, ReingestingDoesOnlyTheChangedWork) {
  auto rag = Pipeline();
  std::vector<RagDocument> docs = Library();
  ASSERT_TRUE(rag->Ingest(docs).ok());
  auto again = rag->Ingest(docs);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->documents_unchanged, 3u);
  EXPECT_EQ(again->chunks, 0u);
  EXPECT_EQ(again->chunks_embedded, 0u);

  // One paragraph appended: the old chunks keep their vectors, only the new text is embedded.
  docs[1].text += "\nServe the bread warm with butter and a little salt on top of each slice.\n";
  auto changed = rag->Ingest(docs);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->documents_unchanged, 2u);
  EXPECT_EQ(changed->chunks_embedded, 1u);
  EXPECT_GE(changed->chunks_reused, 1u);
  auto hits = rag->Retrieve("butter and salt", 1);
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(hits->front().doc_id, "bread");

  // Shorter document: its stale chunks go.
  docs[1].text = "Bread is flour, water, salt and yeast.";
  auto shorter = rag->Ingest(docs);
  ASSERT_TRUE(shorter.ok());
  EXPECT_GE(shorter->chunks_removed, 2u);
  EXPECT_EQ(*rag->Remove({"bread", "missing"}), 1u);
  auto none = rag->Retrieve("flour water yeast", 5, Json(Json::Object{{"doc_id", "bread"}}));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(RagPipeline, CancelledIngestKeepsCommittedDocumentsAndResumes) {
  auto rag = Pipeline();
  std::vector<RagDocument> docs;
  for (int i = 0; i < 40; ++i) {
    docs.push_back({.id = "doc" + std::to_string(i),
                    .text = "Document number " + std::to_string(i) + " talks about topic " +
                            std::to_string(i % 7) + ". " + std::string(200, 'x')});
  }
  int calls = 0;
  auto stopped = rag->Ingest(
      docs, {.progress = [&](const IngestProgress&) { return ++calls < 2; }, .group_chunks = 10});
  EXPECT_EQ(stopped.status().code(), absl::StatusCode::kCancelled);
  const size_t committed = rag->Stats().documents;
  EXPECT_GT(committed, 0u);
  EXPECT_LT(committed, docs.size());
  auto resumed = rag->Ingest(docs);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->documents_unchanged, committed);
  EXPECT_EQ(rag->Stats().documents, docs.size());
}

// The call context stops an ingest (cancellation from another thread, or a deadline) between
// documents and inside a group's embedding; what was committed stays and a later call resumes.
TEST(RagPipeline, CallContextStopsIngestAndResumes) {
  auto rag = Pipeline();
  std::vector<RagDocument> docs;
  for (int i = 0; i < 400; ++i) {
    docs.push_back({.id = "doc" + std::to_string(i),
                    .text = "Document number " + std::to_string(i) + " talks about topic " +
                            std::to_string(i % 7) + ". " + std::string(300, 'x')});
  }
  CallContext cancelled;
  cancelled.cancellation = std::make_shared<Cancellation>();
  cancelled.cancellation->Cancel();
  EXPECT_EQ(rag->Ingest(docs, {}, cancelled).status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(rag->Stats().documents, 0u);

  // Cancelled from the progress callback's thread through the context, after the first group.
  CallContext call;
  call.cancellation = std::make_shared<Cancellation>();
  auto stopped = rag->Ingest(docs,
                             {.progress =
                                  [&](const IngestProgress&) {
                                    call.cancellation->Cancel();
                                    return true;
                                  },
                              .group_chunks = 20},
                             call);
  EXPECT_EQ(stopped.status().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(stopped.status().message(), ::testing::HasSubstr("of 400 documents"));
  const size_t committed = rag->Stats().documents;
  EXPECT_GT(committed, 0u);
  EXPECT_LT(committed, docs.size());

  CallContext late;
  late.deadline = std::chrono::steady_clock::now() - std::chrono::milliseconds(1);
  EXPECT_EQ(rag->Ingest(docs, {}, late).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(rag->Retrieve("topic", 3, Json(), late).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(rag->Stats().documents, committed);

  auto resumed = rag->Ingest(docs, {}, CallContext::WithTimeout(std::chrono::seconds(60)));
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->documents_unchanged, committed);
  EXPECT_EQ(rag->Stats().documents, docs.size());
}

// Retrieve and Answer on three threads while one thread ingests, re-ingests changed documents
// and removes some: every call succeeds and every passage is a slice of the document it names
// (in its current or previous version). Run under TSan by make test.
TEST(RagPipeline, ReadersRunBesideIngest) {
  auto rag = Pipeline();
  auto text_of = [](int i, int version) {
    return "Document " + std::to_string(i) + " version " + std::to_string(version) +
           " is about topic " + std::to_string(i % 5) + ". " +
           std::string(static_cast<size_t>(150 + i % 40), static_cast<char>('a' + i % 26)) + "\n";
  };
  std::vector<RagDocument> docs;
  for (int i = 0; i < 60; ++i)
    docs.push_back({.id = "d" + std::to_string(i), .text = text_of(i, 0)});
  ASSERT_TRUE(rag->Ingest(absl::MakeConstSpan(docs).subspan(0, 10)).ok());

  std::atomic<bool> done{false};
  std::atomic<int> calls{0}, bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      while (!done.load()) {
        const std::string question = "topic " + std::to_string(t) + " version";
        auto hits = rag->Retrieve(question, 5);
        auto answer = rag->Answer(question, {.k = 3});
        if (!hits.ok() || !answer.ok() || answer->generated) ++bad;
        for (const RagPassage& p : hits.ok() ? *hits : std::vector<RagPassage>{}) {
          int i = std::stoi(p.doc_id.substr(1));
          bool slice = false;
          for (int version : {0, 1}) {
            std::string text = text_of(i, version);
            slice |= p.end <= text.size() && text.substr(p.begin, p.end - p.begin) == p.text;
          }
          if (!slice) ++bad;
        }
        ++calls;
      }
    });
  }
  for (size_t at = 10; at < docs.size(); at += 10) {
    ASSERT_TRUE(rag->Ingest(absl::MakeConstSpan(docs).subspan(at, 10), {.group_chunks = 4}).ok());
  }
  for (int i = 0; i < 60; i += 2) docs[i].text = text_of(i, 1);
  ASSERT_TRUE(rag->Ingest(docs, {.group_chunks = 8}).ok());
  std::vector<std::string> gone;
  for (int i = 1; i < 60; i += 7) gone.push_back("d" + std::to_string(i));
  EXPECT_EQ(*rag->Remove(gone), gone.size());
  std::printf("reader calls during the writes: %d\n", calls.load());
  while (calls.load() < 30) std::this_thread::yield();
  done = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(rag->Stats().documents, 60 - gone.size());
}

TEST(RagPipeline, BadInputChangesNothing) {
  auto rag = Pipeline();
  std::vector<RagDocument> docs = Library();
  docs.push_back({.id = "bad", .text = std::string("ok\xff", 3)});
  auto status = rag->Ingest(docs).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("\"bad\""));
  EXPECT_THAT(status.message(), HasSubstr("2"));
  EXPECT_EQ(rag->Stats().documents, 0u);
  EXPECT_FALSE(rag->Ingest({{.id = "a", .text = "x"}, {.id = "a", .text = "y"}}).ok());
  EXPECT_FALSE(rag->Ingest({{.id = "", .text = "x"}}).ok());
  EXPECT_THAT(rag->Ingest({{.id = "a", .text = "x", .metadata = Json(Json::Object{{"path", 1}})}})
                  .status()
                  .message(),
              HasSubstr("reserved"));
  EXPECT_FALSE(RagPipeline::Create({.chunk_size = 10, .chunk_overlap = 10}).ok());
  EXPECT_FALSE(RagPipeline::Create({.prompt_template = "{% for %}"}).ok());
  auto empty = rag->Retrieve("anything");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(RagPipeline, AnswerWithoutAChatModelSaysSo) {
  auto rag = Pipeline();
  ASSERT_TRUE(rag->Ingest(Library()).ok());
  auto answer = rag->Answer("What causes tides?");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_FALSE(answer->generated);
  EXPECT_THAT(answer->text, HasSubstr("No chat model"));
  ASSERT_FALSE(answer->context.empty());
  EXPECT_EQ(answer->context.front().doc_id, "tides");
  EXPECT_EQ(answer->citations.size(), answer->context.size());
  EXPECT_THAT(answer->prompt, HasSubstr("[1] notes/tides.txt, lines 1-1\nTides are caused"));
  EXPECT_THAT(answer->prompt, HasSubstr("Question: What causes tides?"));
}

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/llmkit_rag_XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A document larger than a slice is written over several commits. Stopped between two of them,
// it is not indexed (in memory, and after Save and Load); the next ingest writes it again,
// taking the vectors of the chunks already written from the index.
TEST(RagPipeline, LargeDocumentStoppedBetweenSlicesIsWrittenAgain) {
  RagOptions options;
  options.chunk_size = 64;
  options.chunk_overlap = 0;
  auto rag = Pipeline(options);
  std::string text;
  for (int i = 0; i < 400; ++i) text += "Sentence " + std::to_string(i) + " about the tides.\n";
  std::vector<RagDocument> docs = {{.id = "small", .text = "A small note."},
                                   {.id = "large", .text = text}};
  int slices = 0;
  auto stopped = rag->Ingest(
      docs, {.progress = [&](const IngestProgress&) { return ++slices < 3; }, .group_chunks = 50});
  EXPECT_EQ(stopped.status().code(), absl::StatusCode::kCancelled);
  const size_t written = rag->Stats().chunks;
  EXPECT_GT(written, 50u);
  TempDir dir;
  ASSERT_TRUE(rag->Save(dir.path()).ok());
  auto loaded = RagPipeline::Load(dir.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  for (RagPipeline* pipeline : {rag.get(), loaded->get()}) {
    auto resumed = pipeline->Ingest(docs, {.group_chunks = 50});
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    EXPECT_EQ(resumed->documents_unchanged, 1u);  // "small"; "large" is written again.
    EXPECT_GE(resumed->chunks_reused, written - 1);
    auto again = pipeline->Ingest(docs);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->documents_unchanged, 2u);
  }
}

TEST(RagPipeline, APassageOfTheDocumentThatMatchesAsAWholeRanksFirst) {
  // Both documents report the landing; the bakery's sentence is the shorter, so it wins on its
  // own (BM25 length normalization), but only the Apollo document is about the moon as a whole.
  // The document evidence (docs/rag.md, "Retrieval") puts the Apollo passage first, whichever
  // document was added first, and the same after save/load; removing the document removes its
  // evidence and its passages.
  const std::string apollo_says = "The crew reported that the landing went exactly as planned.";
  std::vector<RagDocument> docs = {
      {.id = "bakery",
       .text = "The crew reported the landing went as planned.\n\nSourdough bread needs a "
               "starter, flour, salt and water, and a long slow rise in a cool kitchen.\n"},
      {.id = "apollo",
       .text = apollo_says + "\n\nThe lunar module touched the surface of the moon in the Sea "
                             "of Tranquility, and the astronauts walked on the moon.\n"},
  };
  const char* question = "crew reported landing as planned on the moon";
  for (bool reversed : {false, true}) {
    TempDir dir;
    auto rag = Pipeline({.k = 3});
    std::vector<RagDocument> order = docs;
    if (reversed) std::swap(order[0], order[1]);
    ASSERT_TRUE(rag->Ingest(order).ok());
    auto hits = rag->Retrieve(question);
    ASSERT_TRUE(hits.ok()) << hits.status();
    ASSERT_GE(hits->size(), 2u);
    EXPECT_EQ((*hits)[0].doc_id, "apollo");
    EXPECT_EQ((*hits)[0].text, apollo_says);
    ASSERT_TRUE(rag->Save(dir.path() + "/index").ok());
    auto loaded = RagPipeline::Load(dir.path() + "/index");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    auto again = (*loaded)->Retrieve(question);
    ASSERT_TRUE(again.ok());
    ASSERT_EQ(again->size(), hits->size());
    for (size_t i = 0; i < hits->size(); ++i) {
      EXPECT_EQ((*again)[i].chunk_id, (*hits)[i].chunk_id);
      EXPECT_DOUBLE_EQ((*again)[i].score, (*hits)[i].score);
    }
    EXPECT_EQ(*rag->Remove({"apollo"}), 1u);
    auto after = rag->Retrieve(question);
    ASSERT_TRUE(after.ok());
    ASSERT_FALSE(after->empty());
    for (const RagPassage& p : *after) EXPECT_EQ(p.doc_id, "bakery");
  }
}

TEST(RagPipeline, SaveAndLoadGiveTheSameAnswersAndResume) {
  TempDir dir;
  auto rag = Pipeline({.k = 3});
  ASSERT_TRUE(rag->Ingest(Library()).ok());
  ASSERT_TRUE(rag->Save(dir.path() + "/index").ok());
  auto loaded = RagPipeline::Load(dir.path() + "/index");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  for (const char* q : {"volcano crust", "bread dough", "moon gravity"}) {
    auto a = rag->Retrieve(q);
    auto b = (*loaded)->Retrieve(q);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->size(), b->size());
    for (size_t i = 0; i < a->size(); ++i) {
      EXPECT_EQ((*a)[i].chunk_id, (*b)[i].chunk_id);
      EXPECT_FLOAT_EQ((*a)[i].score, (*b)[i].score);
      EXPECT_EQ((*a)[i].line_start, (*b)[i].line_start);
    }
  }
  EXPECT_EQ((*loaded)->options().k, 3);
  EXPECT_EQ((*loaded)->options().chunk_size, 120u);
  auto again = (*loaded)->Ingest(Library());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->documents_unchanged, 3u);

  // An index built locally cannot be searched with another model's vectors.
  auto other = NewLocalEmbeddingModel();
  auto wrong = RagPipeline::Load(dir.path() + "/index",
                                 {.embedder = std::move(*other), .embedding_model = "x"});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RagPipeline::Load(dir.path() + "/nothing").status().code(),
            absl::StatusCode::kNotFound);
  // A setting with a name this version does not know is reported, not read as a default.
  std::string settings;
  {
    std::ifstream in(dir.path() + "/index/rag.json");
    settings.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t at = settings.find("\"hybrid\"");
  ASSERT_NE(at, std::string::npos);
  WriteFile(dir.path() + "/index/rag.json",
            settings.substr(0, at) + "\"hybird\"" + settings.substr(at + 8));
  auto unknown = RagPipeline::Load(dir.path() + "/index");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(unknown.status().message(), HasSubstr("\"mode\" has an unknown value \"hybird\""));
  WriteFile(dir.path() + "/index/rag.json", "{\"format\": \"llmkit-rag\", \"version\": 1}");
  auto damaged = RagPipeline::Load(dir.path() + "/index");
  EXPECT_EQ(damaged.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(damaged.status().message(), HasSubstr("chunk_size"));
}

// Load opens the BM25 snapshots saved beside the collection; without them (or with ones from
// another save of the collection) it rebuilds them from the chunks. Both give the same
// passages, and a pipeline loaded from snapshots takes ingests and saves again.
TEST(RagPipeline, LoadOpensTheSavedLexicalIndexOrRebuildsIt) {
  TempDir dir;
  const std::string index = dir.path() + "/index";
  auto rag = Pipeline({.k = 4});
  ASSERT_TRUE(rag->Ingest(Library()).ok());
  ASSERT_TRUE(rag->Save(index).ok());
  size_t snapshots = 0;
  for (const auto& entry : fs::directory_iterator(index)) {
    snapshots += entry.path().extension() == ".bm25";
  }
  EXPECT_EQ(snapshots, 2u);
  ASSERT_TRUE(fs::exists(index + "/lexical.json"));
  auto opened = RagPipeline::Load(index).value();
  fs::copy(index, dir.path() + "/rebuilt", fs::copy_options::recursive);
  fs::remove(dir.path() + "/rebuilt/lexical.json");
  auto rebuilt = RagPipeline::Load(dir.path() + "/rebuilt").value();
  // lexical.json from an older save of the collection: not used.
  fs::copy(index, dir.path() + "/stale", fs::copy_options::recursive);
  std::string stale;
  {
    std::ifstream in(index + "/lexical.json");
    stale.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto other = Pipeline({.k = 4});
  ASSERT_TRUE(other->Ingest({Library()[0]}).ok());
  ASSERT_TRUE(other->Save(dir.path() + "/stale").ok());
  WriteFile(dir.path() + "/stale/lexical.json", stale);
  auto stale_loaded = RagPipeline::Load(dir.path() + "/stale").value();
  EXPECT_EQ(stale_loaded->Stats().documents, 1u);
  auto bread = stale_loaded->Retrieve("bread dough");
  ASSERT_TRUE(bread.ok());
  for (const RagPassage& p : *bread) EXPECT_EQ(p.doc_id, "volcanoes");

  for (const char* q : {"volcano crust", "bread dough", "moon gravity", "magma gas"}) {
    auto a = rag->Retrieve(q);
    auto b = opened->Retrieve(q);
    auto c = rebuilt->Retrieve(q);
    ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << b.status() << c.status();
    ASSERT_EQ(a->size(), b->size());
    ASSERT_EQ(a->size(), c->size());
    for (size_t i = 0; i < a->size(); ++i) {
      EXPECT_EQ((*a)[i].chunk_id, (*b)[i].chunk_id) << q;
      EXPECT_EQ((*a)[i].chunk_id, (*c)[i].chunk_id) << q;
      EXPECT_DOUBLE_EQ((*a)[i].score, (*b)[i].score) << q;
      EXPECT_DOUBLE_EQ((*a)[i].score, (*c)[i].score) << q;
    }
  }
  EXPECT_EQ(opened->Stats().documents, 3u);
  EXPECT_EQ(opened->Stats().chunks, rag->Stats().chunks);
  // Writes after opening: change detection reads the saved table of documents.
  std::vector<RagDocument> changed = Library();
  changed[1].text += "Rye bread needs a sourdough starter.\n";
  auto progress = opened->Ingest(changed);
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(progress->documents_unchanged, 2u);
  EXPECT_GT(progress->chunks, 0u);
  auto rye = opened->Retrieve("sourdough starter", 1);
  ASSERT_TRUE(rye.ok() && !rye->empty());
  EXPECT_EQ((*rye)[0].doc_id, "bread");
  ASSERT_TRUE(opened->Save(index).ok());
  snapshots = 0;
  for (const auto& entry : fs::directory_iterator(index)) {
    snapshots += entry.path().extension() == ".bm25";
  }
  EXPECT_EQ(snapshots, 2u);  // The previous save's snapshots are gone.
  auto reopened = RagPipeline::Load(index).value();
  auto again = reopened->Retrieve("sourdough starter", 1);
  ASSERT_TRUE(again.ok() && !again->empty());
  EXPECT_EQ((*again)[0].chunk_id, (*rye)[0].chunk_id);
}

// The latent term table's file name in a saved index (latent-terms-<checksum>.lkt), or "".
std::string LatentTermsFile(const std::string& index) {
  std::string found;
  for (const auto& entry : fs::directory_iterator(index)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("latent-terms-", 0) == 0 && name.size() > 4 &&
        name.substr(name.size() - 4) == ".lkt") {
      EXPECT_TRUE(found.empty()) << "two term tables: " << found << ", " << name;
      found = name;
    }
  }
  return found;
}

// The latent model (docs/rag.md, "Retrieval") is fitted at ingest, saved beside the BM25
// snapshots and opened with them; a save without it (before llmkit fitted one) loads and
// retrieves without it until the next ingest fits it, damaged files of it are not used, and a
// change in them after Load is an error, never a result.
TEST(RagPipeline, LatentModelIsSavedOpenedAndFittedForAnOlderSave) {
  TempDir dir;
  const std::string index = dir.path() + "/index";
  auto rag = Pipeline({.k = 4});
  ASSERT_TRUE(rag->Ingest(Library()).ok());
  EXPECT_EQ(rag->Stats().latent_documents, 3u);
  ASSERT_TRUE(rag->Save(index).ok());
  const std::string terms = LatentTermsFile(index);
  ASSERT_FALSE(terms.empty());
  ASSERT_TRUE(fs::exists(index + "/latent-documents/MANIFEST"));
  EXPECT_EQ(RagPipeline::Load(index).value()->Stats().latent_documents, 3u);

  // An older save: lexical.json without the latent model's names.
  fs::copy(index, dir.path() + "/older", fs::copy_options::recursive);
  std::string text;
  {
    std::ifstream in(index + "/lexical.json");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  Json lexical = Json::Parse(text).value();
  Json older = Json::MakeObject();
  for (const auto& [key, value] : lexical.as_object()) {
    if (key.rfind("latent_", 0) != 0) older.Set(key, value);
  }
  ASSERT_EQ(older.size() + 2, lexical.size());
  WriteFile(dir.path() + "/older/lexical.json", older.Dump());
  auto loaded = RagPipeline::Load(dir.path() + "/older").value();
  EXPECT_EQ(loaded->Stats().latent_documents, 0u);
  auto passages = loaded->Retrieve("magma gas");
  ASSERT_TRUE(passages.ok()) << passages.status();
  ASSERT_FALSE(passages->empty());
  EXPECT_EQ((*passages)[0].doc_id, "volcanoes");
  auto progress = loaded->Ingest(Library());  // Nothing changed; the model is fitted.
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(progress->documents_unchanged, 3u);
  EXPECT_EQ(loaded->Stats().latent_documents, 3u);
  auto a = rag->Retrieve("magma gas");
  auto b = loaded->Retrieve("magma gas");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].chunk_id, (*b)[i].chunk_id);
    EXPECT_DOUBLE_EQ((*a)[i].score, (*b)[i].score);
  }
  // Saved again: one term table (the same fit, the same table), and the term collection of
  // older saves is gone.
  fs::create_directories(dir.path() + "/older/latent-terms");
  WriteFile(dir.path() + "/older/latent-terms/MANIFEST", "{}");
  ASSERT_TRUE(loaded->Save(dir.path() + "/older").ok());
  EXPECT_EQ(LatentTermsFile(dir.path() + "/older"), terms);
  EXPECT_FALSE(fs::exists(dir.path() + "/older/latent-terms"));

  // A truncated file of the model: Load goes without it.
  fs::copy(index, dir.path() + "/truncated", fs::copy_options::recursive);
  const std::string truncated_terms = dir.path() + "/truncated/" + terms;
  fs::resize_file(truncated_terms, fs::file_size(truncated_terms) / 2);
  auto truncated = RagPipeline::Load(dir.path() + "/truncated");
  ASSERT_TRUE(truncated.ok()) << truncated.status();
  EXPECT_EQ((*truncated)->Stats().latent_documents, 0u);
  EXPECT_TRUE((*truncated)->Retrieve("magma gas").ok());

  // A byte of the term table's head changed: found when opened, and Load goes without it.
  auto change = [&](const std::string& copy, size_t from_end, char to) {
    fs::copy(index, copy, fs::copy_options::recursive);
    std::fstream file(copy + "/" + terms, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(fs::file_size(copy + "/" + terms) - from_end));
    file.put(to);
  };
  change(dir.path() + "/head", 1, 'g');  // The head's checksum, eight hex digits at the end.
  auto head = RagPipeline::Load(dir.path() + "/head");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ((*head)->Stats().latent_documents, 0u);
  EXPECT_TRUE((*head)->Retrieve("magma gas").ok());

  // A byte of a row changed: found when the row is read, and retrieval fails rather than use
  // it. The last row's last byte (before zeros up to a multiple of 8 and the head's checksum;
  // the header gives the dimensions at byte 8 and the term count at 16) is the last term's; a
  // question with every word of the library reads it.
  uint32_t dims = 0;
  uint64_t count = 0;
  {
    std::ifstream in(index + "/" + terms, std::ios::binary);
    in.seekg(8);
    in.read(reinterpret_cast<char*>(&dims), 4);
    in.seekg(16);
    in.read(reinterpret_cast<char*>(&count), 8);
  }
  const size_t rows_bytes = 2 * dims * count, zeros = (8 - rows_bytes % 8) % 8;
  change(dir.path() + "/row", 8 + zeros + 1, '\x5A');
  auto row = RagPipeline::Load(dir.path() + "/row");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ((*row)->Stats().latent_documents, 3u);
  std::string every_word;
  for (const RagDocument& doc : Library()) every_word += doc.text + " ";
  auto damaged = (*row)->Retrieve(every_word);
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.status().code(), absl::StatusCode::kDataLoss) << damaged.status();
  EXPECT_TRUE((*row)->Retrieve("magma gas").ok()) << "a question that does not read the row";
}

TEST(RagPipeline, IngestDirectorySkipsBadFilesAndRemovesDeletedOnes) {
  TempDir dir;
  WriteFile(dir.path() + "/a.md", "# A\n\nAlpha particles are helium nuclei.\n");
  WriteFile(dir.path() + "/sub/b.py", "def beta():\n    return 'beta decay emits electrons'\n");
  WriteFile(dir.path() + "/c.txt", std::string("gamma\xc3", 6));
  WriteFile(dir.path() + "/d.txt", std::string("bin\0ary", 7));
  WriteFile(dir.path() + "/.hidden/e.txt", "hidden");
  WriteFile(dir.path() + "/f.png", "not text");
  auto rag = Pipeline();
  auto stats = rag->IngestDirectory(dir.path());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->documents_done, 2u);
  EXPECT_EQ(stats->documents_failed, 2u);
  ASSERT_EQ(stats->errors.size(), 2u);
  EXPECT_THAT(stats->errors[0], HasSubstr("c.txt"));
  EXPECT_THAT(stats->errors[1], HasSubstr("binary"));
  auto hits = rag->Retrieve("beta decay", 1);
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(hits->front().doc_id, "sub/b.py");
  EXPECT_EQ(hits->front().path, dir.path() + "/sub/b.py");

  fs::remove(dir.path() + "/sub/b.py");
  auto again = rag->IngestDirectory(dir.path());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->documents_removed, 1u);
  EXPECT_EQ(again->documents_unchanged, 1u);
  EXPECT_EQ(rag->Stats().documents, 1u);
  EXPECT_EQ(rag->IngestDirectory(dir.path() + "/none").status().code(),
            absl::StatusCode::kNotFound);
}

// The OpenAI-compatible server: /embeddings answers with the local embedder's vectors (so the
// endpoint pipeline can be compared with the local one), /chat/completions with a fixed answer
// citing passages 2 and 1.
struct FakeProvider {
  std::mutex mu;
  std::vector<std::string> chat_bodies;
  int embedding_inputs = 0;
  std::unique_ptr<EmbeddingModel> local = *NewLocalEmbeddingModel();

  Script Handle(const ServerRequest& request) {
    Json body = *Json::Parse(request.body);
    if (request.path == "/v1/embeddings") {
      std::vector<std::string> inputs;
      for (const Json& s : body.Find("input")->as_array()) inputs.push_back(s.as_string());
      Embeddings e = *local->Embed(inputs);
      Json data = Json::MakeArray();
      for (size_t i = 0; i < inputs.size(); ++i) {
        Json item = Json::MakeObject();
        item.Set("index", i);
        item.Set("embedding", internal::EncodeBase64(e.row(i).data(), e.dimensions * 4));
        data.push_back(std::move(item));
      }
      std::lock_guard<std::mutex> lock(mu);
      embedding_inputs += static_cast<int>(inputs.size());
      return Reply(
          200, Json(Json::Object{
                        {"data", data},
                        {"model", body.Find("model")->as_string()},
                        {"usage", Json(Json::Object{{"prompt_tokens", 1}, {"total_tokens", 1}})}})
                   .Dump());
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      chat_bodies.push_back(request.body);
    }
    return Reply(200,
                 R"({"id":"c1","model":"fake-chat","choices":[{"index":0,"finish_reason":"stop",
      "message":{"role":"assistant","content":"Explosive eruptions come from viscous magma [2], as the notes say [1]."}}],
      "usage":{"prompt_tokens":321,"completion_tokens":17,"total_tokens":338}})");
  }
};

TEST(RagPipeline, EndToEndAgainstChatAndEmbeddingEndpoints) {
  FakeProvider provider;
  TestServer server([&](const ServerRequest& r) { return provider.Handle(r); });
  OpenAIOptions options{
      .base_url = server.Url("/v1"), .api_key = "sk-rag-secret", .model = "fake-chat"};
  std::shared_ptr<ChatModel> chat = *NewOpenAIClient(options);
  options.model = "fake-embed";
  std::shared_ptr<EmbeddingModel> embedder = *NewOpenAIEmbeddingModel(options);
  auto remote = Pipeline(
      {.embedder = embedder, .embedding_model = "fake-embed", .embed_batch_size = 2, .chat = chat});
  auto local = Pipeline();
  auto ingested = remote->Ingest(Library());
  ASSERT_TRUE(ingested.ok()) << ingested.status();
  ASSERT_TRUE(local->Ingest(Library()).ok());
  EXPECT_EQ(provider.embedding_inputs, static_cast<int>(ingested->chunks));

  // The same vectors over HTTP: the same passages and scores as the local pipeline.
  const std::string question = "why are some eruptions explosive?";
  auto a = remote->Retrieve(question);
  auto b = local->Retrieve(question);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status();
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].chunk_id, (*b)[i].chunk_id);
    EXPECT_NEAR((*a)[i].score, (*b)[i].score, 1e-6);
  }

  auto answer = remote->Answer(question);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_TRUE(answer->generated);
  EXPECT_THAT(answer->text, HasSubstr("viscous magma [2]"));
  ASSERT_EQ(answer->citations.size(), 2u);
  EXPECT_EQ(answer->citations[0].n, 2);
  EXPECT_EQ(answer->citations[0].chunk_id, answer->context[1].chunk_id);
  EXPECT_EQ(answer->citations[1].n, 1);
  EXPECT_EQ(answer->usage.input_tokens, 321);
  EXPECT_EQ(answer->model, "fake-chat");
  {
    std::lock_guard<std::mutex> lock(provider.mu);
    ASSERT_EQ(provider.chat_bodies.size(), 1u);
    Json sent = *Json::Parse(provider.chat_bodies[0]);
    const Json::Array& messages = sent.Find("messages")->as_array();
    ASSERT_EQ(messages.size(), 2u);
    EXPECT_EQ(messages[0].Find("content")->as_string(), kDefaultRagSystemPrompt);
    EXPECT_EQ(messages[1].Find("content")->as_string(), answer->prompt);
    EXPECT_THAT(answer->prompt, HasSubstr("[1] " + answer->context[0].path));
  }

  // The query was embedded once: asking again hits the cache.
  const int before = provider.embedding_inputs;
  ASSERT_TRUE(remote->Retrieve(question).ok());
  EXPECT_EQ(provider.embedding_inputs, before);

  // Saved with an endpoint model: loading needs that model.
  TempDir dir;
  ASSERT_TRUE(remote->Save(dir.path()).ok());
  EXPECT_EQ(RagPipeline::Load(dir.path()).status().code(), absl::StatusCode::kFailedPrecondition);
  auto loaded =
      RagPipeline::Load(dir.path(), {.embedder = embedder, .embedding_model = "fake-embed"});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto c = (*loaded)->Retrieve(question);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->front().chunk_id, a->front().chunk_id);
}

}  // namespace
}  // namespace llmkit
