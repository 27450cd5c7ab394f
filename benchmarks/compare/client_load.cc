// llmkit's side of benchmarks/compare/clients: CHAT chat requests and EMBED embedding requests
// (ROWS inputs each) at CONCURRENCY (that many threads calling the shared clients, one curl
// event loop underneath) against BASE_URL; prints the process CPU time and wall time of each
// phase as JSON.
//   client_load BASE_URL CHAT EMBED ROWS CONCURRENCY

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "llmkit/embeddings.h"
#include "llmkit/openai.h"

namespace {

double CpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Runs `one` `count` times on `threads` threads; returns the JSON of the phase.
std::string Phase(int count, int threads, const std::function<size_t()>& one) {
  std::atomic<int> next{0};
  std::atomic<size_t> check{0};
  double cpu = CpuSeconds();
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      while (next.fetch_add(1) < count) check += one();
    });
  }
  for (std::thread& w : workers) w.join();
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char out[256];
  std::snprintf(out, sizeof(out),
                R"({"requests": %d, "cpu_seconds": %.4f, "wall_seconds": %.4f, "check": %zu})",
                count, CpuSeconds() - cpu, wall, check.load());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: client_load BASE_URL CHAT EMBED ROWS CONCURRENCY\n");
    return 2;
  }
  const int chat = std::atoi(argv[2]), embed = std::atoi(argv[3]), rows = std::atoi(argv[4]),
            concurrency = std::atoi(argv[5]);
  auto transport = llmkit::NewCurlTransport();
  if (!transport.ok()) return 1;
  llmkit::OpenAIOptions options{
      .base_url = argv[1], .api_key = "sk-bench", .model = "gpt-4o-mini", .transport = *transport};
  auto client = llmkit::NewOpenAIClient(options);
  options.model = "text-embedding-3-small";
  auto embedder = llmkit::NewOpenAIEmbeddingModel(options);
  if (!client.ok() || !embedder.ok()) return 1;
  llmkit::ChatRequest request;
  request.messages = {{.role = "system", .content = "Answer in one sentence."},
                      {.role = "user", .content = "What is the capital of France?"}};
  std::vector<std::string> inputs;
  for (int i = 0; i < rows; ++i) {
    inputs.push_back("document " + std::to_string(i) + ": some text to embed here");
  }
  auto fail = [](const absl::Status& status) {
    std::fprintf(stderr, "client_load: %s\n", status.ToString().c_str());
    std::exit(1);
  };
  if (auto warm = (*client)->Complete(request); !warm.ok()) fail(warm.status());
  request.temperature = 0;
  std::string chat_json = Phase(chat, concurrency, [&]() -> size_t {
    auto r = (*client)->Complete(request);
    if (!r.ok()) fail(r.status());
    return r->text.size();
  });
  std::string embed_json = Phase(embed, concurrency, [&]() -> size_t {
    auto r = (*embedder)->Embed(inputs);
    if (!r.ok()) fail(r.status());
    return r->values.size();
  });
  std::printf("{\"chat\": %s, \"embed\": %s}\n", chat_json.c_str(), embed_json.c_str());
  return 0;
}
