// EvaluateRag: a RagPipeline over a question set, scored on retrieval (context precision and
// recall against judged documents) and, with a judge, on its answers (faithfulness: claims
// extracted and checked against the retrieved passages, as RAGAS defines it; answer relevance).

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "eval/eval_impl.h"
#include "llmkit/eval.h"
#include "llmkit/status.h"

namespace llmkit {
namespace {

using internal::eval::JudgeObject;

constexpr char kClaimsPrompt[] =
    "Break the answer below into its claims: every factual statement it makes, each rewritten to "
    "stand alone (no pronouns pointing outside it). Leave out questions, greetings and statements "
    "about what the answer cannot say.\n\nQuestion: {question}\nAnswer: {answer}\n\n"
    "Respond with a JSON object: {\"claims\": [string, ...]}.";

constexpr char kVerifyPrompt[] =
    "Decide for each statement whether the context below supports it: 1 when it can be inferred "
    "from the context, 0 when it cannot (even if it is true).\n\nContext:\n{context}\n\n"
    "Statements:\n{statements}\n\nRespond with a JSON object: {\"verdicts\": [{\"statement\": "
    "string, \"reason\": string, \"verdict\": 0 or 1}, ...]}, one per statement, in order.";

constexpr char kRelevancePrompt[] =
    "Rate how directly and completely the answer addresses the question: 1 when it answers "
    "exactly what was asked, 0 when it does not address it at all (an evasive or off-topic "
    "answer scores low even if it is correct).\n\nQuestion: {question}\nAnswer: {answer}\n\n"
    "Respond with a JSON object: {\"reason\": string, \"score\": number between 0 and 1}.";

std::string Fill(std::string prompt,
                 std::initializer_list<std::pair<std::string, std::string>> vars) {
  for (const auto& [name, value] : vars) {
    const std::string key = "{" + name + "}";
    const size_t at = prompt.find(key);
    if (at != std::string::npos) prompt.replace(at, key.size(), value);
  }
  return prompt;
}

absl::StatusOr<Json> AskJudge(const RagMetricsOptions& options, std::string prompt,
                              const CallContext& call) {
  ChatRequest request;
  request.model = options.judge_model;
  request.temperature = 0;
  request.seed = 0;
  request.messages = {{.role = "system", .content = "You are a careful evaluator. Answer in JSON."},
                      {.role = "user", .content = std::move(prompt)}};
  absl::StatusOr<ChatResponse> reply = options.judge->Complete(request, call);
  if (!reply.ok()) {
    return absl::Status(reply.status().code(),
                        absl::StrCat("the judge failed: ", reply.status().message()));
  }
  std::optional<Json> object = JudgeObject(reply->text);
  if (!object) {
    return absl::InvalidArgumentError(
        absl::StrCat("the judge's answer is not JSON: ", reply->text.substr(0, 120)));
  }
  return *std::move(object);
}

void Faithfulness(const RagMetricsOptions& options, const RagAnswer& answer,
                  std::string_view question, const CallContext& call, RagQuestionResult* r) {
  absl::StatusOr<Json> claims = AskJudge(
      options, Fill(kClaimsPrompt, {{"question", std::string(question)}, {"answer", answer.text}}),
      call);
  const Json* list = claims.ok() ? claims->Find("claims") : nullptr;
  if (list == nullptr || !list->is_array()) {
    r->error =
        claims.ok() ? "the judge gave no \"claims\" list" : std::string(claims.status().message());
    return;
  }
  for (const Json& claim : list->as_array()) {
    if (claim.is_string() && !claim.as_string().empty()) r->claims.push_back(claim.as_string());
  }
  if (r->claims.empty()) {
    r->error = "the answer makes no claim to check";
    return;
  }
  std::string context, statements;
  for (const RagPassage& p : answer.context)
    absl::StrAppend(&context, "[", p.n, "] ", p.text, "\n");
  for (size_t i = 0; i < r->claims.size(); ++i) {
    absl::StrAppend(&statements, i + 1, ". ", r->claims[i], "\n");
  }
  absl::StatusOr<Json> checked = AskJudge(
      options, Fill(kVerifyPrompt, {{"context", context}, {"statements", statements}}), call);
  const Json* verdicts = checked.ok() ? checked->Find("verdicts") : nullptr;
  if (verdicts == nullptr || !verdicts->is_array() || verdicts->size() != r->claims.size()) {
    r->error =
        checked.ok()
            ? absl::StrCat("the judge gave ",
                           verdicts != nullptr && verdicts->is_array() ? verdicts->size() : 0,
                           " verdicts for ", r->claims.size(), " claims")
            : std::string(checked.status().message());
    r->claims.clear();
    return;
  }
  int supported = 0;
  for (const Json& v : verdicts->as_array()) {
    const Json* verdict = v.is_object() ? v.Find("verdict") : nullptr;
    const bool yes = verdict != nullptr && ((verdict->is_number() && verdict->as_double() == 1) ||
                                            (verdict->is_bool() && verdict->as_bool()));
    r->supported.push_back(yes);
    supported += yes ? 1 : 0;
  }
  r->faithfulness = static_cast<double>(supported) / static_cast<double>(r->claims.size());
}

void Relevance(const RagMetricsOptions& options, const RagAnswer& answer, std::string_view question,
               const CallContext& call, RagQuestionResult* r) {
  absl::StatusOr<Json> rated = AskJudge(
      options,
      Fill(kRelevancePrompt, {{"question", std::string(question)}, {"answer", answer.text}}), call);
  const Json* score = rated.ok() ? rated->Find("score") : nullptr;
  if (score == nullptr || !score->is_number() || !std::isfinite(score->as_double())) {
    const std::string why = rated.ok() ? "the judge's relevance score is not a finite number"
                                       : std::string(rated.status().message());
    r->error = r->error.empty() ? why : absl::StrCat(r->error, "; ", why);
    return;
  }
  r->answer_relevance = std::clamp(score->as_double(), 0.0, 1.0);
}

}  // namespace

absl::StatusOr<RagMetricsReport> EvaluateRag(const RagPipeline& rag,
                                             const std::vector<RagQuestion>& questions,
                                             const RagMetricsOptions& options,
                                             const CallContext& call) {
  if (options.concurrency < 1 || options.concurrency > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("concurrency must be in [1, 256], got ", options.concurrency));
  }
  RagMetricsReport report;
  report.questions.resize(questions.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (;;) {
      if (!call.Check("RAG evaluation").ok()) return;
      const size_t i = next.fetch_add(1);
      if (i >= questions.size()) return;
      const RagQuestion& q = questions[i];
      RagQuestionResult& r = report.questions[i];
      r.question = q.question;
      absl::StatusOr<RagAnswer> answer = rag.Answer(q.question, options.answer, call);
      if (!answer.ok()) {
        r.error = std::string(answer.status().ToString());
        continue;
      }
      r.answer = answer->text;
      // Retrieval: the ranked context against the judged documents (by id or path).
      auto relevant = [&](const RagPassage& p) {
        return std::find(q.relevant.begin(), q.relevant.end(), p.doc_id) != q.relevant.end() ||
               std::find(q.relevant.begin(), q.relevant.end(), p.path) != q.relevant.end();
      };
      int hits = 0;
      double precision_sum = 0;
      std::vector<std::string> found;
      for (size_t k = 0; k < answer->context.size(); ++k) {
        const RagPassage& p = answer->context[k];
        r.retrieved.push_back(p.doc_id);
        if (!relevant(p)) continue;
        ++hits;
        precision_sum += static_cast<double>(hits) / static_cast<double>(k + 1);
        if (std::find(found.begin(), found.end(), p.doc_id) == found.end()) {
          found.push_back(p.doc_id);
        }
      }
      r.context_precision = hits > 0 ? precision_sum / hits : 0;
      if (!q.relevant.empty()) {
        int covered = 0;
        for (const std::string& want : q.relevant) {
          for (const RagPassage& p : answer->context) {
            if (p.doc_id == want || p.path == want) {
              ++covered;
              break;
            }
          }
        }
        r.context_recall = static_cast<double>(covered) / static_cast<double>(q.relevant.size());
      }
      if (options.judge != nullptr && answer->generated) {
        Faithfulness(options, *answer, q.question, call, &r);
        Relevance(options, *answer, q.question, call, &r);
      } else if (options.judge != nullptr) {
        r.error = "the pipeline has no chat model: no answer to judge";
      }
    }
  };
  const size_t threads = std::min<size_t>(static_cast<size_t>(options.concurrency),
                                          std::max<size_t>(1, questions.size()));
  std::vector<std::thread> pool;
  for (size_t i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  LLMKIT_RETURN_IF_ERROR(call.Check("RAG evaluation"));
  for (const RagQuestionResult& r : report.questions) {
    report.context_precision += r.context_precision;
    report.context_recall += r.context_recall;
    if (r.faithfulness) {
      report.faithfulness += *r.faithfulness;
      ++report.faithfulness_count;
    }
    if (r.answer_relevance) {
      report.answer_relevance += *r.answer_relevance;
      ++report.answer_relevance_count;
    }
  }
  if (!questions.empty()) {
    report.context_precision /= static_cast<double>(questions.size());
    report.context_recall /= static_cast<double>(questions.size());
  }
  if (report.faithfulness_count > 0) report.faithfulness /= report.faithfulness_count;
  if (report.answer_relevance_count > 0) report.answer_relevance /= report.answer_relevance_count;
  return report;
}

Json RagMetricsReport::ToJson() const {
  Json out = Json::MakeObject();
  out.Set("context_precision", context_precision);
  out.Set("context_recall", context_recall);
  out.Set("faithfulness", faithfulness);
  out.Set("faithfulness_count", faithfulness_count);
  out.Set("answer_relevance", answer_relevance);
  out.Set("answer_relevance_count", answer_relevance_count);
  Json list = Json::MakeArray();
  for (const RagQuestionResult& r : questions) {
    Json q = Json::MakeObject();
    q.Set("question", r.question);
    q.Set("answer", r.answer);
    Json retrieved = Json::MakeArray();
    for (const std::string& id : r.retrieved) retrieved.push_back(id);
    q.Set("retrieved", std::move(retrieved));
    q.Set("context_precision", r.context_precision);
    q.Set("context_recall", r.context_recall);
    q.Set("faithfulness", r.faithfulness ? Json(*r.faithfulness) : Json());
    q.Set("answer_relevance", r.answer_relevance ? Json(*r.answer_relevance) : Json());
    Json claims = Json::MakeArray();
    for (size_t i = 0; i < r.claims.size(); ++i) {
      Json c = Json::MakeObject();
      c.Set("claim", r.claims[i]);
      if (i < r.supported.size()) c.Set("supported", static_cast<bool>(r.supported[i]));
      claims.push_back(std::move(c));
    }
    q.Set("claims", std::move(claims));
    if (!r.error.empty()) q.Set("error", r.error);
    list.push_back(std::move(q));
  }
  out.Set("questions", std::move(list));
  return out;
}

}  // namespace llmkit
