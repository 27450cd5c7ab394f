// llmkit eval: `eval prompts` (eval_prompts_command.cc) or `eval retrieval`, retrieval quality on
// a BEIR dataset, the same computation as benchmarks/compare/retrieval_eval (which runs it through
// the Python API). `llmkit eval --corpus ...` is still `eval retrieval`.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "args.h"
#include "commands.h"
#include "llmkit/bm25.h"
#include "llmkit/index.h"
#include "llmkit/json.h"
#include "llmkit/rag.h"
#include "llmkit/retriever.h"
#include "llmkit/status.h"
#include "llmkit/store.h"
#include "models.h"
#include "npy.h"
#include "read_file.h"

namespace llmkit::cli {
namespace {

const CommandSpec kSpec = {
    "eval retrieval",
    "--corpus FILE --queries FILE --qrels FILE [options]",
    "Measures retrieval on a BEIR dataset: nDCG@10, Recall@10, Recall@100 and MRR@10 over the\n"
    "queries that have judgments, for vector, lexical (BM25) and hybrid search (relative score\n"
    "and reciprocal rank fusion). Document text is title + \" \" + text. Vectors are the local\n"
    "embedder's unless --vectors NAME gives precomputed ones: corpus_NAME.npy / .ids and\n"
    "queries_NAME.npy / .ids beside the corpus file (float32, one row per id; scored by inner\n"
    "product).",
    {},
    {
        {"--corpus", "", "FILE", "corpus.jsonl (_id, title, text)"},
        {"--queries", "", "FILE", "queries.jsonl (_id, text)"},
        {"--qrels", "", "FILE",
         "judgments: BEIR TSV (query-id, corpus-id, score; header optional) or TREC qrels"},
        {"--vectors", "", "NAME", "precomputed vectors (see above)"},
        {"--alpha", "", "A", "vector weight of relative score fusion (default 0.5)"},
        {"--plain", "", "", "BM25 without Porter stemming"},
        {"--json", "", "", "print JSON"},
        {"--store", "", "URL",
         "search through this store instead of an in-memory one (postgresql://... or "
         "chroma://HOST:PORT/COLLECTION): the corpus is upserted into it first"},
        {"--table", "", "NAME", "the pgvector store's table (default llmkit_eval)"},
    }};

struct Dataset {
  std::vector<std::string> doc_ids;
  std::vector<std::string> doc_texts;
  absl::flat_hash_map<std::string, std::string> queries;
  std::map<std::string, absl::flat_hash_map<std::string, int>> qrels;
};

absl::Status ReadJsonLines(const std::string& path,
                           const std::function<absl::Status(const Json&, size_t)>& each) {
  LLMKIT_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  size_t line = 0;
  for (absl::string_view row : absl::StrSplit(text, '\n')) {
    ++line;
    if (absl::StripAsciiWhitespace(row).empty()) continue;
    absl::StatusOr<Json> json = Json::Parse(std::string_view(row.data(), row.size()));
    if (!json.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line, ": ", json.status().message()));
    }
    LLMKIT_RETURN_IF_ERROR(each(*json, line));
  }
  return absl::OkStatus();
}

std::string Field(const Json& row, const char* key) {
  const Json* v = row.Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

absl::StatusOr<Dataset> Load(const std::string& corpus, const std::string& queries,
                             const std::string& qrels) {
  Dataset d;
  LLMKIT_RETURN_IF_ERROR(ReadJsonLines(corpus, [&](const Json& row, size_t line) {
    std::string id = Field(row, "_id");
    if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(corpus, ":", line, ": no _id"));
    std::string text = absl::StrCat(Field(row, "title"), " ", Field(row, "text"));
    absl::StripAsciiWhitespace(&text);
    d.doc_ids.push_back(std::move(id));
    d.doc_texts.push_back(std::move(text));
    return absl::OkStatus();
  }));
  LLMKIT_RETURN_IF_ERROR(ReadJsonLines(queries, [&](const Json& row, size_t line) {
    std::string id = Field(row, "_id");
    if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(queries, ":", line, ": no _id"));
    d.queries[id] = Field(row, "text");
    return absl::OkStatus();
  }));
  LLMKIT_ASSIGN_OR_RETURN(std::string tsv, ReadWholeFile(qrels));
  // BEIR's TSV (query-id, corpus-id, score; a header line or none) or TREC's four columns
  // (query-id, iteration, corpus-id, score) split by tabs or spaces. The first line is a header
  // only when its score is not a number: a file without one keeps its first judgment.
  size_t line = 0;
  for (absl::string_view row : absl::StrSplit(tsv, '\n')) {
    ++line;
    if (absl::StripAsciiWhitespace(row).empty()) continue;
    std::vector<absl::string_view> cells = absl::StrSplit(row, '\t');
    if (cells.size() != 3 && cells.size() != 4) {
      cells = absl::StrSplit(row, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    }
    int score = 0;
    const bool numeric = (cells.size() == 3 || cells.size() == 4) &&
                         absl::SimpleAtoi(absl::StripAsciiWhitespace(cells.back()), &score);
    if (!numeric && line == 1) continue;  // The header.
    if (!numeric) {
      return absl::InvalidArgumentError(
          absl::StrCat(qrels, ":", line,
                       ": expected query-id<TAB>corpus-id<TAB>score (or TREC's query-id iteration "
                       "corpus-id score)"));
    }
    const absl::string_view doc = cells.size() == 4 ? cells[2] : cells[1];
    if (score > 0) {
      d.qrels[std::string(absl::StripAsciiWhitespace(cells[0]))]
             [std::string(absl::StripAsciiWhitespace(doc))] = score;
    }
  }
  return d;
}

// The rows of NAME's matrix for `ids`, in that order.
absl::StatusOr<absl::flat_hash_map<std::string, std::vector<float>>> ReadVectors(
    const std::string& stem) {
  LLMKIT_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(stem + ".npy"));
  absl::StatusOr<NpyMatrix> matrix = ParseNpy(bytes);
  if (!matrix.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(stem, ".npy: ", matrix.status().message()));
  }
  LLMKIT_ASSIGN_OR_RETURN(std::string ids_text, ReadWholeFile(stem + ".ids"));
  std::vector<std::string> ids =
      absl::StrSplit(ids_text, absl::ByAnyChar(" \n\t\r"), absl::SkipEmpty());
  if (ids.size() != matrix->rows) {
    return absl::InvalidArgumentError(absl::StrCat(stem, ".ids has ", ids.size(), " ids; ", stem,
                                                   ".npy has ", matrix->rows, " rows"));
  }
  absl::flat_hash_map<std::string, std::vector<float>> out;
  for (size_t i = 0; i < ids.size(); ++i) {
    const float* row = matrix->values.data() + i * matrix->cols;
    out[ids[i]] = std::vector<float>(row, row + matrix->cols);
  }
  return out;
}

struct Metrics {
  double ndcg10 = 0, recall10 = 0, recall100 = 0, mrr10 = 0, ms_per_query = 0;
};

void Score(const std::vector<RetrievedHit>& hits, const absl::flat_hash_map<std::string, int>& rel,
           Metrics* sum) {
  double dcg = 0;
  for (size_t i = 0; i < hits.size() && i < 10; ++i) {
    auto it = rel.find(hits[i].id);
    if (it != rel.end()) dcg += it->second / std::log2(i + 2.0);
  }
  std::vector<int> grades;
  for (const auto& [id, g] : rel) grades.push_back(g);
  std::sort(grades.rbegin(), grades.rend());
  double idcg = 0;
  for (size_t i = 0; i < grades.size() && i < 10; ++i) idcg += grades[i] / std::log2(i + 2.0);
  size_t found10 = 0, found100 = 0;
  double mrr = 0;
  for (size_t i = 0; i < hits.size() && i < 100; ++i) {
    if (!rel.contains(hits[i].id)) continue;
    found100++;
    if (i < 10) {
      found10++;
      if (mrr == 0) mrr = 1.0 / (i + 1);
    }
  }
  sum->ndcg10 += idcg > 0 ? dcg / idcg : 0;
  sum->recall10 += double(found10) / rel.size();
  sum->recall100 += double(found100) / rel.size();
  sum->mrr10 += mrr;
}

bool NumericLess(const std::string& a, const std::string& b) {
  long long x, y;
  if (absl::SimpleAtoi(a, &x) && absl::SimpleAtoi(b, &y)) return x < y;
  return a < b;
}

}  // namespace

int RunEval(int argc, char** argv) {
  const std::string what = argc > 2 ? argv[2] : "";
  if (what == "prompts") return RunEvalPrompts(argc, argv, 3);
  if (what == "retrieval") return RunEvalRetrieval(argc, argv, 3);
  if (what == "-h" || what == "--help" || what.empty()) {
    std::FILE* out = what.empty() ? stderr : stdout;
    std::fprintf(out,
                 "usage: llmkit eval prompts SUITE.yaml [options]\n"
                 "       llmkit eval retrieval --corpus FILE --queries FILE --qrels FILE "
                 "[options]\n\n"
                 "`llmkit eval prompts --help` and `llmkit eval retrieval --help` describe each; "
                 "`llmkit eval --corpus ...` is eval retrieval.\n");
    return what.empty() ? kExitUsage : kExitOk;
  }
  return RunEvalRetrieval(argc, argv, 2);  // The old spelling: llmkit eval --corpus ...
}

int RunEvalRetrieval(int argc, char** argv, int first) {
  int exit = kExitOk;
  std::optional<Args> args = Args::Parse(kSpec, argc, argv, first, &exit);
  if (!args) return exit;
  for (const char* required : {"--corpus", "--queries", "--qrels"}) {
    if (!args->Has(required)) {
      std::fprintf(stderr, "llmkit eval retrieval: %s FILE is required\n", required);
      return kExitUsage;
    }
  }
  auto fail = [](const absl::Status& status) {
    std::fprintf(stderr, "llmkit eval: %s\n", std::string(status.message()).c_str());
    return kExitFailure;
  };
  absl::StatusOr<Dataset> data =
      Load(args->Get("--corpus"), args->Get("--queries"), args->Get("--qrels"));
  if (!data.ok()) return fail(data.status());

  // Vectors: precomputed, or the local embedder's.
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> query_ids;
  for (const auto& [q, rel] : data->qrels) {
    if (data->queries.contains(q)) query_ids.push_back(q);
  }
  std::sort(query_ids.begin(), query_ids.end(), NumericLess);
  std::vector<float> doc_vectors, query_vectors;
  size_t dim = 0;
  std::string vector_name;
  Metric metric = Metric::kInnerProduct;
  if (args->Has("--vectors")) {
    vector_name = args->Get("--vectors");
    const std::filesystem::path dir = std::filesystem::path(args->Get("--corpus")).parent_path();
    auto docs = ReadVectors((dir / ("corpus_" + vector_name)).string());
    if (!docs.ok()) return fail(docs.status());
    auto queries = ReadVectors((dir / ("queries_" + vector_name)).string());
    if (!queries.ok()) return fail(queries.status());
    for (const std::string& id : data->doc_ids) {
      auto it = docs->find(id);
      if (it == docs->end())
        return fail(absl::InvalidArgumentError("no vector for document " + id));
      dim = it->second.size();
      doc_vectors.insert(doc_vectors.end(), it->second.begin(), it->second.end());
    }
    for (const std::string& id : query_ids) {
      auto it = queries->find(id);
      if (it == queries->end())
        return fail(absl::InvalidArgumentError("no vector for query " + id));
      query_vectors.insert(query_vectors.end(), it->second.begin(), it->second.end());
    }
  } else {
    LocalEmbedderOptions local;
    vector_name = LocalEmbedderName(local);
    metric = Metric::kCosine;
    auto model = NewLocalEmbeddingModel(local);
    if (!model.ok()) return fail(model.status());
    auto docs = (*model)->Embed(data->doc_texts);
    if (!docs.ok()) return fail(docs.status());
    std::vector<std::string> texts;
    for (const std::string& id : query_ids) texts.push_back(data->queries[id]);
    auto queries = (*model)->Embed(texts);
    if (!queries.ok()) return fail(queries.status());
    dim = docs->dimensions;
    doc_vectors = std::move(docs->values);
    query_vectors = std::move(queries->values);
  }
  std::shared_ptr<VectorStore> store;
  if (args->Has("--store")) {
    if (metric != Metric::kCosine) {
      return fail(absl::InvalidArgumentError(
          "--store: the remote stores are created for cosine (the local embedder's metric); "
          "--vectors scores by inner product"));
    }
    auto opened =
        OpenStore(args->Get("--store"), args->Get("--table", "llmkit_eval"), static_cast<int>(dim));
    if (!opened.ok()) return fail(opened.status());
    store = *std::move(opened);
    std::vector<Document> documents(data->doc_ids.size());
    for (size_t i = 0; i < documents.size(); ++i) {
      documents[i].id = data->doc_ids[i];
      documents[i].text = data->doc_texts[i];
      documents[i].vector.assign(doc_vectors.begin() + i * dim,
                                 doc_vectors.begin() + (i + 1) * dim);
    }
    if (absl::Status added = store->Upsert(documents); !added.ok()) return fail(added);
  } else {
    auto collection = Collection::Create({.dim = static_cast<int>(dim), .metric = metric});
    if (!collection.ok()) return fail(collection.status());
    if (absl::Status added = (*collection)->Add(data->doc_ids, doc_vectors, data->doc_texts);
        !added.ok()) {
      return fail(added);
    }
    store = *std::move(collection);
  }
  absl::StatusOr<std::unique_ptr<Bm25Index>> created =
      Bm25Index::Create({.stemming = !args->Has("--plain")});
  if (!created.ok()) return fail(created.status());
  std::unique_ptr<Bm25Index> bm25 = *std::move(created);
  if (absl::Status added = bm25->Add(data->doc_ids, data->doc_texts); !added.ok())
    return fail(added);
  const double build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  struct Mode {
    const char* name;
    RetrieverOptions options;
  };
  double alpha = 0.5;
  if (args->Has("--alpha") &&
      (!absl::SimpleAtod(args->Get("--alpha"), &alpha) || !(alpha >= 0 && alpha <= 1))) {
    std::fprintf(stderr, "llmkit eval: --alpha must be a number from 0 to 1\n");
    return kExitUsage;
  }
  const std::string fused_name =
      absl::StrCat("hybrid relative score (alpha ", args->Get("--alpha", "0.5"), ")");
  const std::vector<Mode> modes = {
      {"vector", {.mode = RetrievalMode::kVector}},
      {"bm25", {.mode = RetrievalMode::kLexical}},
      {fused_name.c_str(), {.mode = RetrievalMode::kHybrid, .alpha = alpha}},
      {"hybrid rrf (k 60)", {.mode = RetrievalMode::kHybrid, .fusion = Fusion::kReciprocalRank}},
  };
  std::vector<Metrics> results;
  for (const Mode& mode : modes) {
    absl::StatusOr<Retriever> created_retriever =
        Retriever::Create(store.get(), bm25.get(), mode.options);
    if (!created_retriever.ok()) return fail(created_retriever.status());
    const Retriever& retriever = *created_retriever;
    Metrics sum;
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t q = 0; q < query_ids.size(); ++q) {
      RetrievalQuery query;
      query.text = data->queries[query_ids[q]];
      query.vector = absl::MakeConstSpan(query_vectors.data() + q * dim, dim);
      query.k = 100;
      auto hits = retriever.Search(query);
      if (!hits.ok()) return fail(hits.status());
      Score(*hits, data->qrels[query_ids[q]], &sum);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double n = query_ids.empty() ? 1 : query_ids.size();
    results.push_back(
        {sum.ndcg10 / n, sum.recall10 / n, sum.recall100 / n, sum.mrr10 / n, 1000 * seconds / n});
  }

  if (args->Has("--json")) {
    Json out = Json::MakeObject();
    for (size_t m = 0; m < modes.size(); ++m) {
      out.Set(modes[m].name, Json(Json::Object{{"ndcg@10", results[m].ndcg10},
                                               {"recall@10", results[m].recall10},
                                               {"recall@100", results[m].recall100},
                                               {"mrr@10", results[m].mrr10},
                                               {"ms_per_query", results[m].ms_per_query}}));
    }
    std::printf("%s\n", out.Dump({.indent = 2}).c_str());
    return kExitOk;
  }
  std::printf(
      "%zu queries with judgments, %zu documents; vectors: %s (%zu dimensions); BM25 %s "
      "Porter stemming; built in %.2f s\n",
      query_ids.size(), data->doc_ids.size(), vector_name.c_str(), dim,
      args->Has("--plain") ? "without" : "with", build_seconds);
  std::printf("%-36s %8s %7s %7s %7s %9s\n", "mode", "nDCG@10", "R@10", "R@100", "MRR@10",
              "ms/query");
  for (size_t m = 0; m < modes.size(); ++m) {
    std::printf("%-36s %8.4f %7.4f %7.4f %7.4f %9.3f\n", modes[m].name, results[m].ndcg10,
                results[m].recall10, results[m].recall100, results[m].mrr10,
                results[m].ms_per_query);
  }
  return kExitOk;
}

}  // namespace llmkit::cli
