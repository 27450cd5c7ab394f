// Cost and budgets from C++: every response priced from the bundled price table, spend recorded
// under the call's tags, and a hard budget per user checked before a request leaves. The server
// comes from the environment (OPENAI_BASE_URL); ctest runs this against a local fake.
//
//   build/release/examples/cost_quickstart

#include <cstdio>

#include "llmkit/cost.h"
#include "llmkit/openai.h"

int main() {
  absl::StatusOr<std::unique_ptr<llmkit::ChatModel>> client =
      llmkit::NewOpenAIClient({.model = "gpt-4o-mini"});
  // In memory here; {.path = "spend.ledger"} keeps the spend across restarts.
  absl::StatusOr<std::shared_ptr<llmkit::Ledger>> ledger = llmkit::Ledger::Open();
  if (!client.ok() || !ledger.ok()) return 1;
  absl::StatusOr<std::unique_ptr<llmkit::ChatModel>> model = llmkit::WithBudget(
      std::move(*client), {.ledger = *ledger,
                           .budgets = {{.name = "alice-monthly",
                                        .limit_usd = 0.0001,
                                        .tags = {{"user", "alice"}},
                                        .window = llmkit::BudgetWindow::kMonth}},
                           .default_model = "gpt-4o-mini"});  // For requests naming none.
  if (!model.ok()) return 1;

  llmkit::ChatRequest request;
  request.messages = {{.role = "user", .content = "What is the weather in Paris?"}};
  request.max_tokens = 100;  // Bounds what the budget reserves for the answer.
  llmkit::CallContext call;
  call.tags = {{"user", "alice"}, {"feature", "weather"}};
  for (int i = 1; i <= 10; ++i) {
    absl::StatusOr<llmkit::ChatResponse> response = (*model)->Complete(request, call);
    if (!response.ok()) {  // kResourceExhausted, before anything was sent.
      std::printf("call %d refused: %s\n", i, std::string(response.status().message()).c_str());
      break;
    }
    std::printf("call %d: $%.7f (cached input $%.7f)\n", i, response->cost->total,
                response->cost->cached_input);
  }
  absl::StatusOr<std::vector<llmkit::SpendRow>> rows =
      (*ledger)->Report({"user", "feature"}, llmkit::BudgetWindow::kMonth);
  if (!rows.ok()) return 1;
  for (const llmkit::SpendRow& row : *rows) {
    std::printf("%s/%s: %lld calls, $%.7f\n", row.key[0].c_str(), row.key[1].c_str(),
                static_cast<long long>(row.totals.calls), row.totals.cost.total);
  }
  return 0;
}
