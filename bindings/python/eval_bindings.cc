// Python bindings of the evaluation part (eval.h): load_eval_suite, run_eval, EvalReport and the
// scorers. Suites are run with the GIL released; Python custom assertions take it per call.

#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "call_conversion.h"
#include "client_access.h"
#include "interrupt.h"
#include "json_conversion.h"
#include "llmkit/eval.h"
#include "llmkit/rag.h"
#include "status_conversion.h"

namespace py = pybind11;

namespace llmkit::python {
namespace {

// A Python assertion: fn(output, value, vars) returning a bool, a score in [0, 1] (passing from
// the threshold, default 0.5), or a dict {pass, score, reason}. Called with the GIL; what it
// raises is the assertion's error.
CustomAssertion PythonAssertion(py::object fn) {
  auto held = std::shared_ptr<py::object>(new py::object(std::move(fn)), [](py::object* o) {
    py::gil_scoped_acquire gil;
    delete o;
  });
  return [held](const EvalAssertion& a, const EvalOutput& out) {
    py::gil_scoped_acquire gil;
    AssertionResult r;
    try {
      py::object verdict = (*held)(py::str(out.text.data(), out.text.size()), JsonToPython(a.value),
                                   out.vars != nullptr ? JsonToPython(*out.vars) : py::dict());
      if (py::isinstance<py::bool_>(verdict)) {
        r.pass = verdict.cast<bool>();
        r.score = r.pass ? 1 : 0;
      } else if (py::isinstance<py::int_>(verdict) || py::isinstance<py::float_>(verdict)) {
        r.score = verdict.cast<double>();
        r.pass = std::isfinite(r.score) && r.score >= a.threshold.value_or(0.5);
      } else if (py::isinstance<py::dict>(verdict)) {
        py::dict d = verdict.cast<py::dict>();
        r.score = d.contains("score") ? d["score"].cast<double>() : 0;
        r.pass = d.contains("pass") ? d["pass"].cast<bool>() : r.score >= a.threshold.value_or(0.5);
        if (!d.contains("score")) r.score = r.pass ? 1 : 0;
        if (d.contains("reason")) r.reason = py::str(d["reason"]).cast<std::string>();
      } else {
        r.error = true;
        r.reason = absl::StrCat("a custom assertion returns a bool, a number or a dict, not ",
                                Py_TYPE(verdict.ptr())->tp_name);
      }
    } catch (py::error_already_set& e) {
      r = AssertionResult();
      r.error = true;
      r.reason = absl::StrCat("the custom assertion raised ", e.what());
    } catch (const py::cast_error& e) {
      r = AssertionResult();
      r.error = true;
      r.reason = absl::StrCat("the custom assertion's answer: ", e.what());
    }
    return r;
  };
}

}  // namespace

void BindEval(py::module_& module) {
  py::class_<EvalSuite, std::shared_ptr<EvalSuite>>(
      module, "EvalSuite",
      "A prompt suite read from a promptfoo-format YAML file (load_eval_suite).")
      .def_property_readonly("description", [](const EvalSuite& s) { return s.description; })
      .def_property_readonly(
          "prompts",
          [](const EvalSuite& s) {
            std::vector<std::string> out;
            for (const EvalPrompt& p : s.prompts) out.push_back(p.label);
            return out;
          },
          "The prompts' labels.")
      .def_property_readonly(
          "providers",
          [](const EvalSuite& s) {
            std::vector<std::string> out;
            for (const EvalProvider& p : s.providers) out.push_back(p.label);
            return out;
          },
          "The providers' labels.")
      .def_property_readonly(
          "tests",
          [](const EvalSuite& s) {
            std::vector<std::string> out;
            for (const EvalTest& t : s.tests) out.push_back(t.description);
            return out;
          },
          "The tests' descriptions (defaultTest merged, list vars expanded).")
      .def("__repr__", [](const EvalSuite& s) {
        return absl::StrCat("<llmkit.EvalSuite ", s.prompts.size(), " prompt(s) x ",
                            s.providers.size(), " provider(s) x ", s.tests.size(), " test(s)>");
      });

  module.def(
      "load_eval_suite",
      [](const std::string& path, py::object make_model, std::optional<std::string> registry_dir) {
        EvalSuiteOptions options;
        if (registry_dir) options.registry_dir = *registry_dir;
        if (!make_model.is_none()) {
          options.make_model =
              [make_model](const std::string& id,
                           const Json& config) -> absl::StatusOr<std::shared_ptr<ChatModel>> {
            py::object model = make_model(id, JsonToPython(config));
            if (model.is_none()) {
              return absl::InvalidArgumentError(
                  absl::StrCat("make_model returned None for \"", id, "\""));
            }
            return ModelsOf(model).chat;
          };
        }
        return std::make_shared<EvalSuite>(ValueOrThrow(LoadEvalSuite(path, options)));
      },
      py::arg("path"), py::kw_only(), py::arg("make_model") = py::none(),
      py::arg("registry_dir") = py::none(),
      "Reads a suite file. make_model(id, config) -> a llmkit client makes each provider "
      "(default: openai:chat:MODEL and anthropic:messages:MODEL clients with retry).");

  py::class_<PassRate>(module, "PassRate", "A pass rate with its 95% Wilson interval.")
      .def_readonly("passed", &PassRate::passed)
      .def_readonly("runs", &PassRate::runs)
      .def_readonly("rate", &PassRate::rate)
      .def_readonly("low", &PassRate::low)
      .def_readonly("high", &PassRate::high)
      .def("__repr__", [](const PassRate& r) {
        return absl::StrCat("<llmkit.PassRate ", r.passed, "/", r.runs, " [", r.low, ", ", r.high,
                            "]>");
      });

  py::class_<PairedComparison>(module, "PairedComparison",
                               "McNemar's exact test of two runs of the same cases.")
      .def_readonly("both_pass", &PairedComparison::both_pass)
      .def_readonly("only_a", &PairedComparison::only_a)
      .def_readonly("only_b", &PairedComparison::only_b)
      .def_readonly("both_fail", &PairedComparison::both_fail)
      .def_readonly("p_value", &PairedComparison::p_value)
      .def("significant", &PairedComparison::significant, py::arg("alpha") = 0.05);

  py::class_<EvalReport, std::shared_ptr<EvalReport>>(module, "EvalReport",
                                                      "The results of run_eval.")
      .def_property_readonly("all_passed", &EvalReport::AllPassed)
      .def_property_readonly("seconds", [](const EvalReport& r) { return r.seconds; })
      .def_property_readonly("prompts", [](const EvalReport& r) { return r.prompts; })
      .def_property_readonly("providers", [](const EvalReport& r) { return r.providers; })
      .def_property_readonly("tests", [](const EvalReport& r) { return r.tests; })
      .def_property_readonly(
          "cases", [](const EvalReport& r) { return JsonToPython(*r.ToJson().Find("cases")); },
          "Every run as a dict (prompt, provider, test, repeat, pass, score, output, error, "
          "latency_ms, usage, cost, assertions).")
      .def("rate", &EvalReport::Rate, py::arg("prompt") = 0, py::arg("provider") = 0)
      .def("compare_prompts", &EvalReport::ComparePrompts, py::arg("a"), py::arg("b"),
           py::arg("provider") = 0)
      .def("compare_providers", &EvalReport::CompareProviders, py::arg("a"), py::arg("b"),
           py::arg("prompt") = 0)
      .def("comparisons", &EvalReport::Comparisons)
      .def("to_json", [](const EvalReport& r) { return JsonToPython(r.ToJson()); })
      .def_static(
          "from_json",
          [](const py::object& data) {
            Json json = py::isinstance<py::str>(data)
                            ? ValueOrThrow(Json::Parse(data.cast<std::string>()))
                            : PythonToJson(data);
            return std::make_shared<EvalReport>(ValueOrThrow(EvalReport::FromJson(json)));
          },
          py::arg("data"), "A report from to_json()'s dict or its JSON text.")
      .def("junit_xml", &EvalReport::ToJUnitXml)
      .def("table", &EvalReport::ToTable)
      .def("html", &EvalReport::ToHtml, "One self-contained HTML page (no script, no network).")
      .def(
          "regressions",
          [](const EvalReport& current, const EvalReport& baseline, double alpha) {
            return Regressions(baseline, current, alpha);
          },
          py::arg("baseline"), py::arg("alpha") = 0.05,
          "What got worse since `baseline` (empty when nothing did).");

  module.def(
      "run_eval",
      [](std::shared_ptr<EvalSuite> suite, int repeat, int concurrency, py::object assertions,
         py::object judge, py::object second_judge, py::object embedder,
         std::optional<double> timeout, const py::object& tags) {
        if (suite == nullptr) throw py::type_error("run_eval() needs an EvalSuite");
        EvalOptions options;
        options.repeat = repeat;
        options.concurrency = concurrency;
        if (!assertions.is_none()) {
          for (auto [name, fn] : assertions.cast<py::dict>()) {
            if (!PyCallable_Check(fn.ptr())) {
              throw py::type_error(absl::StrCat("assertions[\"", py::str(name).cast<std::string>(),
                                                "\"] is not callable"));
            }
            options.custom[py::str(name).cast<std::string>()] =
                PythonAssertion(py::reinterpret_borrow<py::object>(fn));
          }
        }
        if (!judge.is_none()) {
          ModelHandles handles = ModelsOf(judge);
          options.judge = handles.chat;
          options.judge_model = handles.default_model;
        }
        if (!embedder.is_none()) {
          options.embedder = ModelsOf(embedder).embeddings;
          if (options.embedder == nullptr) throw py::type_error("embedder= must be able to embed");
        }
        if (!second_judge.is_none()) {
          ModelHandles handles = ModelsOf(second_judge);
          options.second_judge = handles.chat;
          options.second_judge_model = handles.default_model;
        }
        CallContext call = ToCallContext(timeout, std::nullopt, tags);
        return std::make_shared<EvalReport>(
            ValueOrThrow(RunInterruptible([&](std::shared_ptr<Cancellation> cancellation) {
              CallContext c = call;
              c.cancellation = cancellation;
              return RunEval(*suite, options, c);
            })));
      },
      py::arg("suite"), py::kw_only(), py::arg("repeat") = 1, py::arg("concurrency") = 8,
      py::arg("assertions") = py::none(), py::arg("judge") = py::none(),
      py::arg("second_judge") = py::none(), py::arg("embedder") = py::none(),
      py::arg("timeout") = py::none(), py::arg("tags") = py::none(),
      "Runs every prompt x provider x test `repeat` times, `concurrency` at once. "
      "assertions={name: fn(output, value, vars)} adds assertion types; judge= grades "
      "llm-rubric and factuality when the suite names no grader.");

  module.def(
      "evaluate_rag",
      [](const RagPipeline& rag, const py::list& questions, py::object judge, int concurrency,
         std::optional<int> k, std::optional<double> timeout, const py::object& tags) {
        std::vector<RagQuestion> set;
        for (const py::handle item : questions) {
          if (!py::isinstance<py::dict>(item)) {
            throw py::type_error("each question is a dict {question, relevant}");
          }
          py::dict d = py::reinterpret_borrow<py::dict>(item);
          RagQuestion q;
          if (!d.contains("question")) throw py::type_error("a question dict needs \"question\"");
          q.question = d["question"].cast<std::string>();
          if (d.contains("relevant")) q.relevant = d["relevant"].cast<std::vector<std::string>>();
          set.push_back(std::move(q));
        }
        RagMetricsOptions options;
        options.concurrency = concurrency;
        if (k) options.answer.k = *k;
        if (!judge.is_none()) {
          ModelHandles handles = ModelsOf(judge);
          options.judge = handles.chat;
          options.judge_model = handles.default_model;
        }
        CallContext call = ToCallContext(timeout, std::nullopt, tags);
        RagMetricsReport report =
            ValueOrThrow(RunInterruptible([&](std::shared_ptr<Cancellation> cancellation) {
              CallContext c = call;
              c.cancellation = cancellation;
              return EvaluateRag(rag, set, options, c);
            }));
        return JsonToPython(report.ToJson());
      },
      py::arg("rag"), py::arg("questions"), py::kw_only(), py::arg("judge") = py::none(),
      py::arg("concurrency") = 4, py::arg("k") = py::none(), py::arg("timeout") = py::none(),
      py::arg("tags") = py::none(),
      "Answers each {question, relevant: [doc ids or paths]} with the pipeline and scores it: "
      "context precision and recall against the relevant documents and, with a judge, "
      "faithfulness (claims supported by the retrieved passages) and answer relevance.");
  module.def("wilson_interval", &WilsonInterval, py::arg("passed"), py::arg("runs"));
  module.def(
      "levenshtein_ratio",
      [](const std::string& a, const std::string& b) { return LevenshteinRatio(a, b); },
      py::arg("a"), py::arg("b"));
  module.def(
      "exact_match",
      [](const py::object& a, const py::object& b) {
        return ExactMatchScore(PythonToJson(a), PythonToJson(b));
      },
      py::arg("a"), py::arg("b"), "autoevals' ExactMatch score (1 or 0) of two JSON values.");
  module.def(
      "json_diff",
      [](const py::object& a, const py::object& b) {
        return JsonDiffScore(PythonToJson(a), PythonToJson(b));
      },
      py::arg("a"), py::arg("b"), "autoevals' JSONDiff score of two JSON values.");
}

}  // namespace llmkit::python
