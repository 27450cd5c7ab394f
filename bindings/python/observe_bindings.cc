// Python bindings of observe.h: llmkit.Tracer (OTLP/HTTP JSON export, Prometheus text) and
// llmkit.with_tracing.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "client_access.h"
#include "llmkit/observe.h"
#include "pybind11/pybind11.h"
#include "pybind11/stl.h"
#include "status_conversion.h"

namespace llmkit::python {

namespace py = pybind11;

void BindObserve(py::module_& m) {
  py::class_<Tracer, std::shared_ptr<Tracer>>(
      m, "Tracer",
      "OpenTelemetry GenAI spans and metrics of traced models, exported as OTLP/HTTP JSON on a "
      "background thread. See docs/observability.md.")
      .def(
          py::init(
              [](bool from_environment, std::optional<std::string> service_name,
                 std::optional<std::string> endpoint, std::optional<std::string> traces_endpoint,
                 std::optional<std::string> metrics_endpoint,
                 std::optional<std::vector<std::pair<std::string, std::string>>> headers,
                 std::vector<std::string> tag_attributes, std::optional<double> schedule_delay,
                 std::optional<double> export_timeout, std::optional<double> metric_export_interval,
                 bool disabled, std::optional<std::string> compression) {
                TracerOptions o;
                if (from_environment) o = TracerOptionsFromEnvironment(o);
                if (service_name) o.service_name = *service_name;
                if (endpoint) {
                  std::string base = *endpoint;
                  while (!base.empty() && base.back() == '/') base.pop_back();
                  o.traces_endpoint = base + "/v1/traces";
                  o.metrics_endpoint = base + "/v1/metrics";
                }
                if (traces_endpoint) o.traces_endpoint = *traces_endpoint;
                if (metrics_endpoint) o.metrics_endpoint = *metrics_endpoint;
                if (headers) o.headers.assign(headers->begin(), headers->end());
                o.tag_attributes = std::move(tag_attributes);
                auto ms = [](double seconds) {
                  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
                };
                if (schedule_delay) o.schedule_delay = ms(*schedule_delay);
                if (export_timeout) o.export_timeout = ms(*export_timeout);
                if (metric_export_interval) o.metric_export_interval = ms(*metric_export_interval);
                o.disabled = o.disabled || disabled;
                if (compression) o.compression = *compression;
                return ValueOrThrow(Tracer::Create(std::move(o)));
              }),
          py::kw_only(), py::arg("from_environment") = true, py::arg("service_name") = py::none(),
          py::arg("endpoint") = py::none(), py::arg("traces_endpoint") = py::none(),
          py::arg("metrics_endpoint") = py::none(), py::arg("headers") = py::none(),
          py::arg("tag_attributes") = std::vector<std::string>{},
          py::arg("schedule_delay") = py::none(), py::arg("export_timeout") = py::none(),
          py::arg("metric_export_interval") = py::none(), py::arg("disabled") = false,
          py::arg("compression") = py::none())
      .def(
          "flush",
          [](Tracer& t, double timeout) {
            absl::Status status;
            {
              py::gil_scoped_release release;
              status = t.Flush(std::chrono::steady_clock::now() +
                               std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000)));
            }
            ThrowIfError(status);
          },
          py::arg("timeout") = 30.0,
          "Exports what is queued and the metrics now; raises DeadlineExceededError or "
          "UnavailableError.")
      .def(
          "shutdown",
          [](Tracer& t, double timeout) {
            absl::Status status;
            {
              py::gil_scoped_release release;
              status = t.Shutdown(std::chrono::steady_clock::now() +
                                  std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000)));
            }
            ThrowIfError(status);
          },
          py::arg("timeout") = 5.0,
          "Exports what is queued within timeout seconds and stops the export thread (do it "
          "before the process ends: the destructor waits up to export_timeout, holding the GIL).")
      .def(
          "serve_metrics",
          [](Tracer& t, const std::string& address, int port) {
            return ValueOrThrow(t.ServeMetrics(address, port));
          },
          py::arg("address") = "127.0.0.1", py::arg("port") = 0,
          "Serves prometheus_text() at http://address:port/metrics on a thread until shutdown(); "
          "returns the port (0 picks a free one).")
      .def("prometheus_text", &Tracer::PrometheusText,
           "The metrics in the Prometheus text exposition format.")
      .def_property_readonly("stats", [](const Tracer& t) {
        TracerStats s = t.stats();
        py::dict out;
        out["spans_ended"] = s.spans_ended;
        out["spans_exported"] = s.spans_exported;
        out["spans_dropped"] = s.spans_dropped;
        out["export_failures"] = s.export_failures;
        return out;
      });

  m.def(
      "with_tracing",
      [](py::object model, std::shared_ptr<Tracer> tracer, const std::string& provider,
         const std::string& server_address, int server_port, const std::string& default_model,
         bool record_content) {
        TracingOptions options{provider, server_address, server_port, default_model,
                               record_content};
        ModelHandles in = ModelsOf(model);
        ModelHandles out;
        out.default_model = in.default_model;
        out.chat = std::shared_ptr<ChatModel>(ValueOrThrow(WithTracing(in.chat, tracer, options)));
        if (in.embeddings != nullptr) {
          out.embeddings = std::shared_ptr<EmbeddingModel>(
              ValueOrThrow(WithTracing(in.embeddings, tracer, options)));
        }
        return ModelFrom(std::move(out));
      },
      py::arg("model"), py::arg("tracer"), py::kw_only(), py::arg("provider") = "",
      py::arg("server_address") = "", py::arg("server_port") = 0, py::arg("default_model") = "",
      py::arg("record_content") = false,
      "A model whose every chat, stream and embed call is a span and feeds the metrics. "
      "record_content=True records the messages (gen_ai.input.messages, ...) on chat spans.");
}

}  // namespace llmkit::python
