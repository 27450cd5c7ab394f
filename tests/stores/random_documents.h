// Documents for the store tests: random vectors and metadata that exercise every filter rule
// (ints and doubles, strings with case and non-ASCII, booleans, a field of mixed types, missing
// fields, a list).

#ifndef LLMKIT_TESTS_STORES_RANDOM_DOCUMENTS_H_
#define LLMKIT_TESTS_STORES_RANDOM_DOCUMENTS_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "llmkit/store.h"

namespace llmkit::testing {

inline std::vector<Document> RandomDocuments(int n, int dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  const char* kinds[] = {"alpha", "beta", "gamma", "Beta", "ä-umlaut"};
  std::vector<Document> docs;
  for (int i = 0; i < n; ++i) {
    Document d;
    d.id = "doc-" + std::to_string(i);
    d.text = "text of document " + std::to_string(i);
    for (int j = 0; j < dim; ++j) d.vector.push_back(normal(rng));
    Json::Object meta;
    meta.emplace_back("year", Json(int64_t{1990 + i % 35}));
    meta.emplace_back("kind", Json(std::string(kinds[i % 5])));
    if (i % 3 != 0) meta.emplace_back("score", Json(0.25 * (i % 9)));
    if (i % 7 == 0) meta.emplace_back("flag", Json(i % 2 == 0));
    if (i % 11 == 0) meta.emplace_back("mixed", Json(std::string("7")));
    if (i % 11 == 1) meta.emplace_back("mixed", Json(int64_t{7}));
    if (i % 11 == 2) meta.emplace_back("mixed", Json(7.0));
    if (i % 13 == 0) meta.emplace_back("tags", Json(Json::Array{Json("x"), Json(int64_t{2})}));
    d.metadata = Json(std::move(meta));
    docs.push_back(std::move(d));
  }
  return docs;
}

}  // namespace llmkit::testing

#endif  // LLMKIT_TESTS_STORES_RANDOM_DOCUMENTS_H_
