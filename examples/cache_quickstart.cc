// The response cache from C++: a repeated request answered without calling the provider, a
// similar question answered by the semantic lookup, and tenants kept apart. The server comes
// from the environment (OPENAI_BASE_URL); ctest runs this against a local fake.
//
//   build/release/examples/cache_quickstart

#include <cstdio>

#include "llmkit/cache.h"
#include "llmkit/openai.h"
#include "llmkit/rag.h"

int main() {
  absl::StatusOr<std::unique_ptr<llmkit::ChatModel>> client =
      llmkit::NewOpenAIClient({.model = "gpt-4o-mini"});
  if (!client.ok()) return 1;
  // In this process; {.path = "answers/"} keeps entries across restarts, {.redis_url = ...}
  // shares them between processes.
  absl::StatusOr<std::shared_ptr<llmkit::ResponseCache>> cache =
      llmkit::ResponseCache::Create({.max_bytes = 64 << 20, .ttl = std::chrono::hours(1)});
  if (!cache.ok()) return 1;
  llmkit::WithCacheOptions options;  // Entries are kept apart by the "tenant" tag.
  options.semantic.embedder = llmkit::NewLocalEmbeddingModel().value();  // Opt-in.
  absl::StatusOr<std::unique_ptr<llmkit::ChatModel>> model =
      llmkit::WithCache(std::move(*client), *cache, options);
  if (!model.ok()) return 1;

  llmkit::CallContext acme;
  acme.tags = {{"tenant", "acme"}};
  for (const char* question : {"How do I reset my password?", "How do I reset my password?",
                               "How can I reset my password?", "How do I not reset my password?"}) {
    llmkit::ChatRequest request;
    request.temperature = 0;  // Sampled requests are not cached unless asked.
    request.messages = {{.role = "user", .content = question}};
    absl::StatusOr<llmkit::ChatResponse> r = (*model)->Complete(request, acme);
    if (!r.ok()) return 1;
    std::printf("%s -> %s (similarity %.2f, %lld tokens billed)\n", question,
                r->cache_hit ? "cache" : "provider", r->cache_similarity,
                static_cast<long long>(r->usage.total_tokens));
  }
  llmkit::ResponseCacheStats stats = (*cache)->stats();
  std::printf("%lld hits (%lld semantic), %lld misses, %lld refused by the guard\n",
              static_cast<long long>(stats.hits), static_cast<long long>(stats.semantic_hits),
              static_cast<long long>(stats.misses), static_cast<long long>(stats.guard_rejections));
  return 0;
}
