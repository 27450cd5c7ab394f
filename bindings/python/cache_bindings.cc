// llmkit.ResponseCache and llmkit.with_cache (cache.h).

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "call_conversion.h"
#include "client_access.h"
#include "llmkit/cache.h"
#include "llmkit/rag.h"
#include "pybind11/pybind11.h"
#include "pybind11/stl.h"
#include "status_conversion.h"

namespace llmkit::python {

namespace py = pybind11;

namespace {

// embedder=: None (exact only), "local" (the local lexical embedder) or a client that embeds.
std::shared_ptr<EmbeddingModel> SemanticEmbedder(const py::object& embedder) {
  if (embedder.is_none()) return nullptr;
  if (py::isinstance<py::str>(embedder)) {
    if (embedder.cast<std::string>() != "local") {
      throw py::value_error("embedder must be None, \"local\" or a client that embeds");
    }
    return std::shared_ptr<EmbeddingModel>(ValueOrThrow(NewLocalEmbeddingModel()));
  }
  ModelHandles models = ModelsOf(embedder);
  if (models.embeddings == nullptr) {
    throw py::type_error(
        "embedder must embed: \"local\", an OpenAIClient, or a model wrapping one");
  }
  return models.embeddings;
}

}  // namespace

void BindCache(py::module_& m) {
  py::class_<ResponseCacheStats>(m, "ResponseCacheStats")
      .def_readonly("hits", &ResponseCacheStats::hits)
      .def_readonly("semantic_hits", &ResponseCacheStats::semantic_hits)
      .def_readonly("guard_rejections", &ResponseCacheStats::guard_rejections)
      .def_readonly("coalesced", &ResponseCacheStats::coalesced)
      .def_readonly("misses", &ResponseCacheStats::misses)
      .def_readonly("uncached", &ResponseCacheStats::uncached)
      .def_readonly("stores", &ResponseCacheStats::stores)
      .def_readonly("too_large", &ResponseCacheStats::too_large)
      .def_readonly("evictions", &ResponseCacheStats::evictions)
      .def_readonly("expirations", &ResponseCacheStats::expirations)
      .def_readonly("backend_errors", &ResponseCacheStats::backend_errors)
      .def_readonly("entries", &ResponseCacheStats::entries)
      .def_readonly("bytes", &ResponseCacheStats::bytes)
      .def_readonly("saved_usage", &ResponseCacheStats::saved_usage);
  py::class_<ResponseCache, std::shared_ptr<ResponseCache>>(
      m, "ResponseCache",
      "Answers to requests already made, kept in this process (LRU under max_bytes, optional "
      "ttl in seconds) or, with redis_url, in Redis and shared by every process using it. "
      "Share one between threads and models. See docs/cache.md.")
      .def(py::init([](int64_t max_bytes, std::optional<int64_t> max_entry_bytes,
                       std::optional<double> ttl, std::optional<std::string> redis_url,
                       std::string redis_prefix, std::optional<std::string> path) {
             if (max_bytes <= 0 || (max_entry_bytes && *max_entry_bytes <= 0)) {
               throw StatusError(
                   absl::InvalidArgumentError("max_bytes and max_entry_bytes must be positive"));
             }
             ResponseCacheOptions options;
             options.max_bytes = static_cast<size_t>(max_bytes);
             options.max_entry_bytes = static_cast<size_t>(max_entry_bytes.value_or(0));
             if (ttl) options.ttl = PositiveSeconds(*ttl, "ttl");
             options.redis_url = redis_url.value_or("");
             options.redis_prefix = std::move(redis_prefix);
             options.path = path.value_or("");
             return ValueOrThrow(ResponseCache::Create(std::move(options)));
           }),
           py::kw_only(), py::arg("max_bytes") = int64_t{256} << 20,
           py::arg("max_entry_bytes") = py::none(), py::arg("ttl") = py::none(),
           py::arg("redis_url") = py::none(),
           py::arg("redis_prefix") = "llmkit:cache:", py::arg("path") = py::none())
      .def_property_readonly("stats", &ResponseCache::stats)
      .def("clear", &ResponseCache::Clear);
  m.def(
      "with_cache",
      [](py::object model, std::shared_ptr<ResponseCache> cache,
         std::vector<std::string> namespace_tags, std::string scope, bool cache_sampled,
         py::object embedder, std::string embedding_model, double threshold, bool guard,
         int candidates, std::shared_ptr<Tracer> tracer) {
        WithCacheOptions options;
        options.namespace_tags = std::move(namespace_tags);
        options.scope = std::move(scope);
        options.cache_sampled = cache_sampled;
        options.semantic.embedder = SemanticEmbedder(embedder);
        options.semantic.embedding_model = std::move(embedding_model);
        options.semantic.threshold = threshold;
        options.semantic.guard = guard;
        options.semantic.candidates = candidates;
        options.tracer = std::move(tracer);
        ModelHandles in = ModelsOf(model);
        ModelHandles out = in;
        out.chat = std::shared_ptr<ChatModel>(ValueOrThrow(WithCache(in.chat, cache, options)));
        if (in.embeddings != nullptr) {  // embed() is cached too: a vector per text.
          out.embeddings = std::shared_ptr<EmbeddingModel>(
              ValueOrThrow(WithCache(in.embeddings, cache, options)));
        }
        return ModelFrom(std::move(out));
      },
      py::arg("model"), py::arg("cache"), py::kw_only(),
      py::arg("namespace_tags") = std::vector<std::string>{"tenant"}, py::arg("scope") = "",
      py::arg("cache_sampled") = false, py::arg("embedder") = py::none(),
      py::arg("embedding_model") = "", py::arg("threshold") = 0.85, py::arg("guard") = true,
      py::arg("candidates") = 4, py::arg("tracer") = nullptr,
      "A model answering from `cache` first: exact requests with temperature 0 or a seed (or "
      "any, with cache_sampled=True); r.cache_hit, r.cache_age and r.saved_usage say so. The "
      "call's tags named by namespace_tags keep tenants apart. With embedder= (\"local\" or a "
      "client) a similar question (cosine >= threshold, passing the false-hit guard) answers "
      "too; r.cache_similarity says how similar. See docs/cache.md.");
  m.def("false_hit_reason", &FalseHitReason, py::arg("question"), py::arg("candidate"),
        "Why candidate's answer must not serve question though they embed alike ('' when no "
        "rule objects): negations, numbers, quoted strings, identifiers, opposite operations, "
        "names.");
}

}  // namespace llmkit::python
