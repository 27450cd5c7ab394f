// Python bindings of cost.h: llmkit.PriceTable, llmkit.Cost, llmkit.Ledger, llmkit.Budget and
// llmkit.with_budget.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "call_conversion.h"
#include "client_access.h"
#include "json_conversion.h"
#include "llmkit/cost.h"
#include "pybind11/functional.h"
#include "pybind11/pybind11.h"
#include "pybind11/stl.h"
#include "status_conversion.h"

namespace llmkit::python {

namespace py = pybind11;

namespace {

// A PriceTable as Python holds it: shared and immutable; set() makes a new one.
struct PyPriceTable {
  std::shared_ptr<const PriceTable> table;
};

BudgetWindow ParseWindow(const std::string& window) {
  if (window == "all") return BudgetWindow::kAllTime;
  if (window == "day") return BudgetWindow::kDay;
  if (window == "month") return BudgetWindow::kMonth;
  throw StatusError(
      absl::InvalidArgumentError("window must be 'all', 'day' or 'month', not '" + window + "'"));
}

const char* WindowName(BudgetWindow window) {
  switch (window) {
    case BudgetWindow::kAllTime:
      return "all";
    case BudgetWindow::kDay:
      return "day";
    case BudgetWindow::kMonth:
      return "month";
  }
  return "all";
}

CallTags ToTags(const py::object& tags) {
  return ToCallContext(std::nullopt, std::nullopt, tags).tags;
}

Usage ToUsage(const py::dict& usage) {
  Usage out;
  for (auto [key, value] : usage) {
    const std::string name = key.cast<std::string>();
    const int64_t count = value.cast<int64_t>();
    if (name == "input_tokens") {
      out.input_tokens = count;
    } else if (name == "output_tokens") {
      out.output_tokens = count;
    } else if (name == "cached_input_tokens") {
      out.cached_input_tokens = count;
    } else if (name == "cache_creation_input_tokens") {
      out.cache_creation_input_tokens = count;
    } else if (name == "reasoning_tokens") {
      out.reasoning_tokens = count;
    } else if (name != "total_tokens") {
      throw StatusError(absl::InvalidArgumentError("unknown usage key '" + name + "'"));
    }
  }
  out.total_tokens = out.input_tokens + out.output_tokens;
  return out;
}

py::dict TotalsDict(const SpendTotals& totals) {
  py::dict out;
  out["calls"] = totals.calls;
  out["unpriced_calls"] = totals.unpriced_calls;
  out["input_tokens"] = totals.input_tokens;
  out["output_tokens"] = totals.output_tokens;
  out["cost"] = totals.cost;
  out["total_usd"] = totals.cost.total;
  out["cache_hits"] = totals.cache_hits;
  out["saved_usd"] = totals.saved_usd;
  return out;
}

}  // namespace

std::shared_ptr<const PriceTable> PriceTableOf(const py::handle& prices) {
  if (prices.is_none()) return nullptr;
  if (!py::isinstance<PyPriceTable>(prices))
    throw py::type_error("prices must be a llmkit.PriceTable");
  return prices.cast<const PyPriceTable&>().table;
}

void BindCost(py::module_& m) {
  py::class_<Cost>(m, "Cost",
                   "What a call cost in US dollars: input (uncached), cached_input, cache_write, "
                   "output, reasoning and total. priced is False when a model was not in the "
                   "price table (unpriced_model names it): the amounts then say less than was "
                   "spent.")
      .def_readonly("priced", &Cost::priced)
      .def_readonly("unpriced_model", &Cost::unpriced_model)
      .def_readonly("input", &Cost::input)
      .def_readonly("cached_input", &Cost::cached_input)
      .def_readonly("cache_write", &Cost::cache_write)
      .def_readonly("output", &Cost::output)
      .def_readonly("reasoning", &Cost::reasoning)
      .def_readonly("total", &Cost::total)
      .def("__repr__", [](const Cost& c) {
        if (!c.priced)
          return "Cost(unpriced, model=" + py::repr(py::str(c.unpriced_model)).cast<std::string>() +
                 ")";
        return "Cost(total=" + py::repr(py::float_(c.total)).cast<std::string>() + ")";
      });

  py::class_<PyPriceTable>(m, "PriceTable",
                           "Model prices in LiteLLM's model_prices_and_context_window.json "
                           "format. See docs/cost.md for how names resolve.")
      .def_static(
          "default", [] { return PyPriceTable{PriceTable::Default()}; },
          "The bundled snapshot (first-party providers, from npm @pydantic/genai-prices).")
      .def_static(
          "load",
          [](const std::string& path) {
            return PyPriceTable{ValueOrThrow(PriceTable::Load(path))};
          },
          py::arg("path"), "A LiteLLM-format JSON file.")
      .def_static(
          "parse",
          [](const std::string& text) {
            return PyPriceTable{
                std::make_shared<const PriceTable>(ValueOrThrow(PriceTable::Parse(text)))};
          },
          py::arg("text"), "A LiteLLM-format JSON text.")
      .def(
          "set",
          [](PyPriceTable& t, const std::string& name, const py::object& entry) {
            auto copy = std::make_shared<PriceTable>(*t.table);
            ThrowIfError(copy->Set(name, PythonToJson(entry)));
            t.table = std::move(copy);
          },
          py::arg("name"), py::arg("entry"),
          "Adds or replaces one model's entry (a dict in LiteLLM's format). Tables already "
          "given to models keep their prices.")
      .def(
          "find",
          [](const PyPriceTable& t, const std::string& model,
             const std::string& provider) -> std::optional<std::string> {
            auto match = t.table->Find(model, provider);
            if (!match) return std::nullopt;
            return std::string(match->name);
          },
          py::arg("model"), py::arg("provider") = "",
          "The table entry `model` resolves to, or None when it is unpriced.")
      .def(
          "price",
          [](const PyPriceTable& t, const std::string& model, const py::dict& usage,
             const std::string& provider) {
            return t.table->Price(model, ToUsage(usage), provider);
          },
          py::arg("model"), py::arg("usage"), py::arg("provider") = "",
          "The Cost of a usage dict (input_tokens, output_tokens, cached_input_tokens, "
          "cache_creation_input_tokens, reasoning_tokens).")
      .def("__len__", [](const PyPriceTable& t) { return t.table->size(); });

  py::class_<Budget>(m, "Budget",
                     "A spending limit over the calls whose tags include all of `tags`, per "
                     "window ('all', 'day', 'month', UTC). hard=True refuses calls before they "
                     "are sent (RateLimitError with .budget); hard=False calls on_soft_limit.")
      .def(py::init([](double limit_usd, py::object tags, const std::string& window, bool hard,
                       const std::string& name) {
             Budget b;
             b.limit_usd = limit_usd;
             b.tags = ToTags(tags);
             b.window = ParseWindow(window);
             b.hard = hard;
             b.name = name;
             return b;
           }),
           py::kw_only(), py::arg("limit_usd"), py::arg("tags") = py::none(),
           py::arg("window") = "month", py::arg("hard") = true, py::arg("name") = "")
      .def_readonly("name", &Budget::name)
      .def_readonly("limit_usd", &Budget::limit_usd)
      .def_readonly("tags", &Budget::tags)
      .def_property_readonly("window", [](const Budget& b) { return WindowName(b.window); })
      .def_readonly("hard", &Budget::hard)
      .def("__repr__", [](const Budget& b) {
        return "Budget(name=" + py::repr(py::str(b.name)).cast<std::string>() +
               ", limit_usd=" + py::repr(py::float_(b.limit_usd)).cast<std::string>() + ")";
      });

  py::class_<Ledger, std::shared_ptr<Ledger>>(
      m, "Ledger",
      "Every priced call's spend by tags and model. path=None keeps it in memory; a path appends "
      "checksummed records to that file (held by this process; survives restarts and kill -9); "
      "redis_url='redis://host:port/db' shares totals and budgets with every process using that "
      "Redis server.")
      .def(
          py::init([](std::optional<std::string> path, std::optional<std::string> redis_url,
                      const std::string& redis_prefix, bool redis_fail_open, double redis_timeout) {
            LedgerOptions options;
            options.path = path.value_or("");
            options.redis_url = redis_url.value_or("");
            options.redis_prefix = redis_prefix;
            options.redis_fail_open = redis_fail_open;
            options.redis_timeout =
                std::chrono::milliseconds(static_cast<int64_t>(redis_timeout * 1000));
            absl::StatusOr<std::shared_ptr<Ledger>> opened;
            {
              py::gil_scoped_release release;  // Connecting to Redis may take a while.
              opened = Ledger::Open(std::move(options));
            }
            return ValueOrThrow(std::move(opened));
          }),
          py::arg("path") = py::none(), py::kw_only(), py::arg("redis_url") = py::none(),
          py::arg("redis_prefix") = "llmkit:spend", py::arg("redis_fail_open") = false,
          py::arg("redis_timeout") = 2.0)
      .def_static(
          "read_only", [](const std::string& path) { return ValueOrThrow(Ledger::ReadOnly(path)); },
          py::arg("path"), "A ledger file's records, read without holding it.")
      .def(
          "spent",
          [](const Ledger& l, py::object tags, const std::string& window) {
            return TotalsDict(ValueOrThrow(l.Spent(ToTags(tags), ParseWindow(window))));
          },
          py::arg("tags") = py::none(), py::arg("window") = "all",
          "Totals of the calls whose tags include all of `tags` in the window: a dict of calls, "
          "unpriced_calls, input_tokens, output_tokens, cost (a Cost), total_usd, cache_hits and "
          "saved_usd (what response-cache hits would have cost).")
      .def(
          "report",
          [](const Ledger& l, std::vector<std::string> group_by, const std::string& window,
             py::object tags) {
            py::list rows;
            for (const SpendRow& row :
                 ValueOrThrow(l.Report(group_by, ParseWindow(window), ToTags(tags)))) {
              py::dict item = TotalsDict(row.totals);
              for (size_t i = 0; i < group_by.size(); ++i) item[py::str(group_by[i])] = row.key[i];
              rows.append(item);
            }
            return rows;
          },
          py::arg("group_by"), py::arg("window") = "all", py::arg("tags") = py::none(),
          "Totals grouped by tag keys (and 'model'), biggest first: a list of dicts.")
      .def_property_readonly("records", &Ledger::records)
      .def_property_readonly("backend_failures", &Ledger::backend_failures,
                             "Settlements that could not be written (file or Redis) and calls "
                             "redis_fail_open let through unchecked.")
      .def_property_readonly("torn_records", &Ledger::torn_records);

  m.def(
      "with_budget",
      [](py::object model, std::shared_ptr<Ledger> ledger, std::vector<Budget> budgets,
         std::optional<PyPriceTable> prices, const std::string& provider, bool allow_unpriced,
         int64_t default_max_output_tokens, py::object on_soft_limit,
         std::shared_ptr<Tracer> tracer) {
        BudgetOptions options;
        options.tracer = std::move(tracer);
        // One ledger for chat and embeddings (a new in-memory one when none is given).
        options.ledger = ledger != nullptr ? std::move(ledger) : ValueOrThrow(Ledger::Open());
        options.budgets = std::move(budgets);
        if (prices) options.prices = prices->table;
        options.provider = provider;
        options.allow_unpriced = allow_unpriced;
        options.default_max_output_tokens = default_max_output_tokens;
        if (!on_soft_limit.is_none()) {
          auto hook = std::make_shared<py::object>(std::move(on_soft_limit));
          options.on_soft_limit = [hook](const BudgetEvent& event) {
            py::gil_scoped_acquire gil;
            py::dict info;
            info["budget"] = event.budget;
            info["spent_usd"] = event.spent_usd;
            info["limit_usd"] = event.limit_usd;
            info["tags"] = event.tags;
            try {
              (*hook)(info);
            } catch (py::error_already_set& e) {
              e.discard_as_unraisable("llmkit on_soft_limit");
            }
          };
        }
        ModelHandles in = ModelsOf(model);
        options.default_model = in.default_model;
        ModelHandles out;
        out.default_model = in.default_model;
        // Both share one options copy: the same ledger keeps the same budgets.
        out.chat = std::shared_ptr<ChatModel>(ValueOrThrow(WithBudget(in.chat, options)));
        if (in.embeddings != nullptr) {
          out.embeddings =
              std::shared_ptr<EmbeddingModel>(ValueOrThrow(WithBudget(in.embeddings, options)));
        }
        return ModelFrom(std::move(out));
      },
      py::arg("model"), py::kw_only(), py::arg("ledger") = nullptr,
      py::arg("budgets") = std::vector<Budget>{}, py::arg("prices") = py::none(),
      py::arg("provider") = "", py::arg("allow_unpriced") = false,
      py::arg("default_max_output_tokens") = 4096, py::arg("on_soft_limit") = py::none(),
      py::arg("tracer") = nullptr,
      "A model whose responses carry r.cost, recorded in the ledger under each call's tags and "
      "checked against the budgets before it is sent. See docs/cost.md.");
}

}  // namespace llmkit::python
