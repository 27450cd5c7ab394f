// JsonSchema::IsValid on parsed instances: the schemas and instances of benchmarks/compare/schemas
// (a tool-arguments schema, a nested API response with $refs, a ~100 KB document), valid and
// with one error at the end. The side-by-side ratio to ajv is that script's; this one follows
// llmkit's own cost per validation from change to change.

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "benchmark/benchmark.h"
#include "llmkit/json.h"
#include "llmkit/schema.h"

namespace {

constexpr char kToolSchema[] = R"({
  "type": "object",
  "properties": {
    "city": {"type": "string", "minLength": 1, "maxLength": 100},
    "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
    "unit": {"enum": ["celsius", "fahrenheit"]},
    "days": {"type": "integer", "minimum": 1, "maximum": 14},
    "include_hourly": {"type": "boolean"},
    "fields": {"type": "array", "items": {"enum": ["temp", "wind", "rain", "uv"]}, "uniqueItems": true}
  },
  "required": ["city", "unit"],
  "additionalProperties": false
})";

constexpr char kToolValid[] =
    R"({"city": "Paris", "country": "FR", "unit": "celsius", "days": 3, "include_hourly": false,
        "fields": ["temp", "rain"]})";

constexpr char kApiSchema[] = R"({
  "$defs": {
    "money": {"type": "object", "properties": {"amount": {"type": "number", "minimum": 0},
              "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}},
              "required": ["amount", "currency"], "additionalProperties": false},
    "address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"},
                "zip": {"type": "string", "maxLength": 10}}, "required": ["city"]},
    "item": {"type": "object", "properties": {"sku": {"type": "string", "minLength": 3},
             "quantity": {"type": "integer", "minimum": 1}, "price": {"$ref": "#/$defs/money"}},
             "required": ["sku", "quantity", "price"]},
    "order": {"type": "object", "properties": {
      "id": {"type": "integer"}, "status": {"enum": ["new", "paid", "shipped", "cancelled"]},
      "customer": {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"},
                   "address": {"$ref": "#/$defs/address"}}, "required": ["name"]},
      "items": {"type": "array", "items": {"$ref": "#/$defs/item"}, "minItems": 1},
      "total": {"$ref": "#/$defs/money"}, "tags": {"type": "array", "items": {"type": "string"}}},
      "required": ["id", "status", "items", "total"]}
  },
  "type": "object",
  "properties": {"data": {"type": "array", "items": {"$ref": "#/$defs/order"}},
                 "meta": {"type": "object", "properties": {"page": {"type": "integer"},
                          "next": {"type": ["string", "null"]}}}},
  "required": ["data"]
})";

// The compare script's response(n): n orders; `broken` spoils the last price's currency.
std::string Response(int n, bool broken) {
  std::string out = R"({"data": [)";
  static const char* kStatus[] = {"new", "paid", "shipped"};
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&out, i > 0 ? ", " : "", R"({"id": )", i, R"(, "status": ")", kStatus[i % 3],
                    R"(", "customer": {"name": "Customer )", i, R"(", "email": "c)", i,
                    R"(@example.com", "address": {"street": ")", i,
                    R"( Main Street", "city": "Springfield", "zip": ")", 10000 + i,
                    R"("}}, "items": [)");
    for (int j = 0; j < 3; ++j) {
      const bool spoil = broken && i == n - 1 && j == 2;
      absl::StrAppend(&out, j > 0 ? ", " : "", R"({"sku": "SKU-)", i, "-", j, R"(", "quantity": )",
                      1 + j, R"(, "price": {"amount": )", 9.99 + j, R"(, "currency": ")",
                      spoil ? "euro" : "EUR", R"("}})");
    }
    absl::StrAppend(&out, R"(], "total": {"amount": 42.5, "currency": "EUR"}, )",
                    R"("tags": ["gift", "express"]})");
  }
  absl::StrAppend(&out, R"(], "meta": {"page": 1, "next": null}})");
  return out;
}

void Run(benchmark::State& state, const char* schema_text, const std::string& instance_text,
         bool expect_valid) {
  llmkit::SchemaOptions options;
  options.all_errors = false;
  llmkit::JsonSchema schema = *llmkit::JsonSchema::Compile(std::string_view(schema_text), options);
  const llmkit::Json instance = *llmkit::Json::Parse(instance_text);
  if (schema.IsValid(instance) != expect_valid) {
    state.SkipWithError("unexpected validity");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(schema.IsValid(instance));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(instance_text.size()));
}

void BM_SchemaToolValid(benchmark::State& state) { Run(state, kToolSchema, kToolValid, true); }
BENCHMARK(BM_SchemaToolValid);

void BM_SchemaToolInvalid(benchmark::State& state) {
  Run(state, kToolSchema, absl::StrReplaceAll(kToolValid, {{"\"rain\"", "\"snow\""}}), false);
}
BENCHMARK(BM_SchemaToolInvalid);

void BM_SchemaApiValid(benchmark::State& state) {
  Run(state, kApiSchema, Response(5, false), true);
}
BENCHMARK(BM_SchemaApiValid);

void BM_SchemaApiInvalid(benchmark::State& state) {
  Run(state, kApiSchema, Response(5, true), false);
}
BENCHMARK(BM_SchemaApiInvalid);

// About 100 KB: as many orders as the compare script's document (it grows by 10 to 100,000
// bytes of Python's json.dumps).
void BM_SchemaDocumentValid(benchmark::State& state) {
  Run(state, kApiSchema, Response(201, false), true);
}
BENCHMARK(BM_SchemaDocumentValid);

void BM_SchemaDocumentInvalid(benchmark::State& state) {
  Run(state, kApiSchema, Response(201, true), false);
}
BENCHMARK(BM_SchemaDocumentInvalid);

}  // namespace

BENCHMARK_MAIN();
