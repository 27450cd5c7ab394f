// Python bindings of agent.h: Agent, AgentResult, AgentEvent. Tools are llmkit.Tool objects (or
// plain functions, made into one by llmkit.tool): the Python side (llmkit/_agents.py) derives
// their schemas; here they are called, each with the GIL taken, from the run's tool threads.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <map>
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
#include "llmkit/agent.h"
#include "status_conversion.h"

namespace py = pybind11;

namespace llmkit::python {
namespace {

// A Python object usable from any thread: deleted with the GIL taken.
std::shared_ptr<py::object> Hold(py::object object) {
  return std::shared_ptr<py::object>(new py::object(std::move(object)), [](py::object* o) {
    py::gil_scoped_acquire gil;
    delete o;
  });
}

// "ValueError: the message" of the Python exception being handled.
std::string Describe(py::error_already_set& e) {
  std::string type = py::str(e.type().attr("__name__"));
  std::string message = py::str(e.value());
  return message.empty() ? type : absl::StrCat(type, ": ", message);
}

struct PyMcpServer {
  std::shared_ptr<McpClient> client;
};

McpOptions McpOptionsOf(std::optional<double> request_timeout) {
  McpOptions options;
  if (request_timeout) {
    options.request_timeout = std::chrono::ceil<std::chrono::milliseconds>(
        PositiveSeconds(*request_timeout, "request_timeout"));
  }
  return options;
}

// Starts a session with `connect(call)` on a worker thread (Ctrl-C cancels it).
template <typename Connector>
PyMcpServer Connect(std::optional<double> timeout, Connector connect) {
  CallContext call = ToCallContext(timeout, std::nullopt, py::none());
  return PyMcpServer{ValueOrThrow(RunInterruptible([&](std::shared_ptr<Cancellation> cancellation) {
    call.cancellation = std::move(cancellation);
    return connect(call);
  }))};
}

// The client of an McpServer not closed yet.
McpClient* Open(const PyMcpServer& server) {
  if (server.client == nullptr) {
    throw StatusError(absl::FailedPreconditionError("the MCP server was closed"));
  }
  return server.client.get();
}

AgentTool ToAgentTool(const py::handle& item) {
  if (py::isinstance<AgentTool>(item)) return item.cast<const AgentTool&>();  // An MCP tool.
  py::module_ agents = py::module_::import("llmkit._agents");
  py::object tool = py::reinterpret_borrow<py::object>(item);
  if (!py::isinstance(tool, agents.attr("Tool"))) {
    if (!PyCallable_Check(tool.ptr())) {
      throw py::type_error("tools must be llmkit.Tool objects or functions, not " +
                           std::string(py::str(py::type::of(tool).attr("__name__"))));
    }
    tool = agents.attr("tool")(tool);
  }
  AgentTool out;
  out.name = py::cast<std::string>(tool.attr("name"));
  out.description = py::cast<std::string>(tool.attr("description"));
  out.parameters = PythonToJson(tool.attr("parameters"));
  py::object timeout = tool.attr("timeout");
  if (!timeout.is_none()) {
    out.timeout = std::chrono::ceil<std::chrono::milliseconds>(
        PositiveSeconds(py::cast<double>(timeout), "timeout"));
  }
  py::object approval = tool.attr("needs_approval");
  if (py::isinstance<py::bool_>(approval)) {
    out.needs_approval = py::cast<bool>(approval);
  } else {
    std::shared_ptr<py::object> predicate = Hold(approval);
    out.needs_approval_if = [predicate](const Json& arguments) {
      py::gil_scoped_acquire gil;
      try {
        return py::cast<bool>(py::bool_((*predicate)(JsonToPython(arguments))));
      } catch (py::error_already_set& e) {
        // Cannot decide: reported on stderr as Python does for such errors; ask for approval.
        e.restore();
        PyErr_WriteUnraisable(predicate->ptr());
        return true;
      }
    };
  }
  std::shared_ptr<py::object> function = Hold(tool.attr("function"));
  out.run = [function](const Json& arguments, const ToolContext&) -> absl::StatusOr<Json> {
    py::gil_scoped_acquire gil;
    try {
      if (!arguments.is_object()) return absl::InvalidArgumentError("arguments must be an object");
      py::dict kwargs = JsonToPython(arguments);
      py::object result = (*function)(**kwargs);
      if (py::isinstance<py::str>(result)) return Json(py::cast<std::string>(result));
      try {
        return PythonToJson(result);
      } catch (const StatusError&) {
        return Json(py::cast<std::string>(py::str(result)));  // Not JSON: its str().
      }
    } catch (py::error_already_set& e) {
      return absl::UnknownError(Describe(e));
    } catch (const std::exception& e) {
      return absl::UnknownError(e.what());
    }
  };
  return out;
}

const char* EventKind(AgentEvent::Kind kind) {
  switch (kind) {
    case AgentEvent::Kind::kTurnStarted:
      return "turn_started";
    case AgentEvent::Kind::kTextDelta:
      return "text";
    case AgentEvent::Kind::kToolCallStarted:
      return "tool_call_started";
    case AgentEvent::Kind::kToolCallFinished:
      return "tool_call_finished";
    case AgentEvent::Kind::kApprovalRequested:
      return "approval_requested";
    case AgentEvent::Kind::kLimitHit:
      return "limit_hit";
    case AgentEvent::Kind::kFinished:
      return "finished";
  }
  return "unknown";
}

std::vector<Message> ToInput(const py::object& input) {
  std::vector<Message> messages;
  if (py::isinstance<py::str>(input)) {
    messages.push_back({.role = "user", .content = py::cast<std::string>(input)});
    return messages;
  }
  if (!py::isinstance<py::list>(input) && !py::isinstance<py::tuple>(input)) {
    throw py::type_error("input must be a str or a list of message dicts");
  }
  size_t index = 0;
  for (const py::handle& m : input) messages.push_back(ToMessage(PythonToJson(m), index++));
  return messages;
}

struct PyAgent {
  std::shared_ptr<Agent> agent;
};

struct PyRunStore {
  std::shared_ptr<RunStore> store;
};

py::list PendingList(const std::vector<PendingApproval>& pending) {
  py::list out;
  for (const PendingApproval& p : pending) out.append(py::cast(p));
  return out;
}

py::list Transcript(const std::vector<Message>& transcript) {
  py::list out;
  for (const Message& message : transcript) {
    py::dict d = MessageDict(message);
    if (!message.tool_call_id.empty()) d["tool_call_id"] = message.tool_call_id;
    out.append(std::move(d));
  }
  return out;
}

double EpochSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// The run's events handed to a Python callable, with the GIL taken; the first exception it
// raises cancels the run and is raised once the run has ended.
struct PythonEvents {
  py::object callable;
  std::shared_ptr<Cancellation> cancellation;
  std::shared_ptr<py::error_already_set> error;

  AgentEventCallback Wrap() {
    if (callable.is_none()) return nullptr;
    return [this](const AgentEvent& e) {
      py::gil_scoped_acquire gil;
      if (error != nullptr) return;
      try {
        callable(e);
      } catch (py::error_already_set& raised) {
        error = std::make_shared<py::error_already_set>(std::move(raised));
        if (cancellation != nullptr) cancellation->Cancel();
      }
    };
  }
};

// Runs `go(call, run)` on a worker thread (Ctrl-C cancels it) with the call context of
// `timeout` and `tags` and `on_event` as the events' callback; raises what the callback raised.
template <typename Go>
AgentResult RunAgent(std::optional<double> timeout, const py::object& tags,
                     const py::object& on_event, AgentRunOptions run, Go go) {
  CallContext call = ToCallContext(timeout, std::nullopt, tags);
  PythonEvents events{on_event, nullptr, nullptr};
  absl::StatusOr<AgentResult> result =
      RunInterruptible([&](std::shared_ptr<Cancellation> cancellation) {
        call.cancellation = cancellation;
        events.cancellation = cancellation;
        run.on_event = events.Wrap();
        return go(call, run);
      });
  if (events.error != nullptr) throw *events.error;
  return ValueOrThrow(std::move(result));
}

}  // namespace

void BindAgents(py::module_& m) {
  py::class_<AgentEvent>(m, "AgentEvent",
                         "One event of an agent run: kind is 'turn_started', 'text' (a piece of "
                         "the model's reply), 'tool_call_started', 'tool_call_finished', "
                         "'limit_hit' or 'finished'.")
      .def_property_readonly("kind", [](const AgentEvent& e) { return EventKind(e.kind); })
      .def_readonly("turn", &AgentEvent::turn)
      .def_property_readonly("call",
                             [](const AgentEvent& e) -> py::object {
                               if (e.call.id.empty() && e.call.name.empty()) return py::none();
                               return py::cast(e.call);
                             })
      .def_readonly("text", &AgentEvent::text)
      .def_readonly("is_error", &AgentEvent::is_error)
      .def_property_readonly(
          "duration",
          [](const AgentEvent& e) { return std::chrono::duration<double>(e.duration).count(); },
          "Seconds a finished tool call took.")
      .def_property_readonly(
          "stop_reason",
          [](const AgentEvent& e) { return std::string(AgentStopReasonName(e.stop_reason)); })
      .def("__repr__", [](const AgentEvent& e) {
        std::string out = absl::StrCat("AgentEvent(kind='", EventKind(e.kind), "', turn=", e.turn);
        if (!e.call.name.empty()) absl::StrAppend(&out, ", tool='", e.call.name, "'");
        return out + ")";
      });

  py::class_<AgentResult>(m, "AgentResult")
      .def_readonly("text", &AgentResult::text)
      .def_property_readonly(
          "stop_reason",
          [](const AgentResult& r) { return std::string(AgentStopReasonName(r.stop_reason)); },
          "'completed', 'max_turns', 'max_tool_calls', 'max_tokens', 'max_cost', 'deadline' or "
          "'cancelled'.")
      .def_property_readonly("transcript",
                             [](const AgentResult& r) { return Transcript(r.transcript); })
      .def_property_readonly("run_id",
                             [](const AgentResult& r) -> py::object {
                               if (r.run_id.empty()) return py::none();
                               return py::str(r.run_id);
                             })
      .def_property_readonly("pending", [](const AgentResult& r) { return PendingList(r.pending); })
      .def_readonly("usage", &AgentResult::usage)
      .def_readonly("cost", &AgentResult::cost)
      .def_readonly("turns", &AgentResult::turns)
      .def_readonly("tool_calls", &AgentResult::tool_calls)
      .def_readonly("tool_errors", &AgentResult::tool_errors)
      .def("__repr__", [](const AgentResult& r) -> std::string {
        return absl::StrCat("AgentResult(stop_reason='",
                            std::string(AgentStopReasonName(r.stop_reason)), "', turns=", r.turns,
                            ", tool_calls=", r.tool_calls, ")");
      });

  py::class_<PendingApproval>(m, "PendingApproval", "A tool call waiting for a decision.")
      .def_readonly("run_id", &PendingApproval::run_id)
      .def_readonly("call_id", &PendingApproval::call_id)
      .def_readonly("tool", &PendingApproval::tool)
      .def_property_readonly("arguments",
                             [](const PendingApproval& p) { return JsonToPython(p.arguments); })
      .def_property_readonly(
          "requested", [](const PendingApproval& p) { return EpochSeconds(p.requested); },
          "When the run paused, in seconds since the epoch.")
      .def("__repr__", [](const PendingApproval& p) {
        return absl::StrCat("PendingApproval(run_id='", p.run_id, "', call_id='", p.call_id,
                            "', tool='", p.tool, "', arguments=", p.arguments.Dump(), ")");
      });
  py::class_<RunStore::SavedRun>(m, "SavedRun", "A run as the run store last saved it.")
      .def_readonly("run_id", &RunStore::SavedRun::run_id)
      .def_readonly("status", &RunStore::SavedRun::status)
      .def_property_readonly("transcript",
                             [](const RunStore::SavedRun& r) { return Transcript(r.transcript); })
      .def_property_readonly("updated",
                             [](const RunStore::SavedRun& r) { return EpochSeconds(r.updated); });
  py::class_<PyRunStore>(m, "RunStore",
                         "Agent runs paused for approval, in a SQLite database file any number "
                         "of processes share.")
      .def(py::init([](const std::string& path) {
             return PyRunStore{ValueOrThrow(RunStore::Open(path))};
           }),
           py::arg("path"))
      .def(
          "pending",
          [](const PyRunStore& s, std::optional<std::string> run_id) {
            return PendingList(ValueOrThrow(s.store->Pending(run_id.value_or(""))));
          },
          py::arg("run_id") = py::none(), "The calls waiting for a decision, oldest first.")
      .def(
          "approve",
          [](PyRunStore& s, const std::string& run_id, const std::string& call_id,
             const py::object& arguments) {
            std::optional<Json> edited;
            if (!arguments.is_none()) edited = PythonToJson(arguments);
            ThrowIfError(s.store->Approve(run_id, call_id, std::move(edited)));
          },
          py::arg("run_id"), py::arg("call_id"), py::kw_only(), py::arg("arguments") = py::none(),
          "Lets the call run (with `arguments` instead of the model's, when given).")
      .def(
          "reject",
          [](PyRunStore& s, const std::string& run_id, const std::string& call_id,
             const std::string& reason) { ThrowIfError(s.store->Reject(run_id, call_id, reason)); },
          py::arg("run_id"), py::arg("call_id"), py::kw_only(), py::arg("reason") = "",
          "The call does not run; the model is told it was rejected, and why.")
      .def(
          "get",
          [](const PyRunStore& s, const std::string& run_id) {
            return ValueOrThrow(s.store->Get(run_id));
          },
          py::arg("run_id"))
      .def(
          "runs", [](const PyRunStore& s) { return ValueOrThrow(s.store->List()); },
          "Every saved run, most recently updated first.");

  py::class_<AgentTool>(m, "AgentTool",
                        "A tool implemented in C++ (an MCP server's, from McpServer.tools()).")
      .def_readonly("name", &AgentTool::name)
      .def_readonly("description", &AgentTool::description)
      .def_property_readonly("parameters",
                             [](const AgentTool& t) { return JsonToPython(t.parameters); })
      .def("__repr__",
           [](const AgentTool& t) { return absl::StrCat("AgentTool(name='", t.name, "')"); });

  py::class_<PyMcpServer>(m, "McpServer",
                          "A client of an MCP tool server, over stdio or streamable HTTP.")
      .def_static(
          "stdio",
          [](std::vector<std::string> command,
             std::optional<std::map<std::string, std::string>> env, std::optional<double> timeout,
             std::optional<double> request_timeout) {
            McpOptions options = McpOptionsOf(request_timeout);
            if (env) options.env = *env;
            return Connect(timeout, [&](const CallContext& call) {
              return McpClient::Stdio(command, options, call);
            });
          },
          py::arg("command"), py::kw_only(), py::arg("env") = py::none(),
          py::arg("timeout") = py::none(), py::arg("request_timeout") = py::none(),
          "Starts `command` (a list: program and arguments) and initializes the session. The "
          "server gets only HOME, LOGNAME, PATH, SHELL, TERM, USER and `env`.")
      .def_static(
          "http",
          [](std::string url, std::optional<std::map<std::string, std::string>> headers,
             std::optional<double> timeout, std::optional<double> request_timeout) {
            McpOptions options = McpOptionsOf(request_timeout);
            if (headers) {
              for (const auto& [name, value] : *headers) options.headers.emplace_back(name, value);
            }
            return Connect(timeout, [&](const CallContext& call) {
              return McpClient::Http(url, options, call);
            });
          },
          py::arg("url"), py::kw_only(), py::arg("headers") = py::none(),
          py::arg("timeout") = py::none(), py::arg("request_timeout") = py::none(),
          "Initializes a session with the streamable HTTP endpoint `url` (http://host:port/mcp).")
      .def_property_readonly(
          "server_info", [](const PyMcpServer& s) { return JsonToPython(Open(s)->server_info()); })
      .def_property_readonly("protocol_version",
                             [](const PyMcpServer& s) { return Open(s)->protocol_version(); })
      .def(
          "list_tools",
          [](const PyMcpServer& s, std::optional<double> timeout) {
            CallContext call = ToCallContext(timeout, std::nullopt, py::none());
            std::vector<McpTool> tools =
                ValueOrThrow(RunInterruptible([&](std::shared_ptr<Cancellation> cancellation) {
                  call.cancellation = std::move(cancellation);
                  return Open(s)->ListTools(call);
                }));
            py::list out;
            for (const McpTool& t : tools) {
              py::dict d;
              d["name"] = t.name;
              d["description"] = t.description;
              d["input_schema"] = JsonToPython(t.input_schema);
              out.append(std::move(d));
            }
            return out;
          },
          py::kw_only(), py::arg("timeout") = py::none(),
          "The server's tools as dicts: name, description, input_schema.")
      .def(
          "call_tool",
          [](const PyMcpServer& s, const std::string& name, const py::object& arguments,
             std::optional<double> timeout) {
            Json args = arguments.is_none() ? Json::MakeObject() : PythonToJson(arguments);
            CallContext call = ToCallContext(timeout, std::nullopt, py::none());
            McpCallResult r =
                ValueOrThrow(RunInterruptible([&](std::shared_ptr<Cancellation> cancellation) {
                  call.cancellation = std::move(cancellation);
                  return Open(s)->CallTool(name, args, call);
                }));
            py::dict out;
            out["text"] = r.text;
            out["is_error"] = r.is_error;
            out["content"] = JsonToPython(r.content);
            out["structured_content"] = JsonToPython(r.structured_content);
            return out;
          },
          py::arg("name"), py::arg("arguments") = py::none(), py::kw_only(),
          py::arg("timeout") = py::none(),
          "Calls a tool: a dict with text, is_error, content and structured_content.")
      .def(
          "tools",
          [](const PyMcpServer& s, const std::string& prefix) {
            return ValueOrThrow(RunInterruptible([&](std::shared_ptr<Cancellation> cancellation) {
              CallContext call;
              call.cancellation = std::move(cancellation);
              return Open(s)->Tools(prefix, call);
            }));
          },
          py::kw_only(), py::arg("prefix") = "",
          "The server's tools as agent tools named prefix + name (Agent(tools=...) also takes "
          "the server itself: all its tools, unprefixed).")
      .def(
          "close",
          [](PyMcpServer& s) {
            py::gil_scoped_release release;
            s.client.reset();
          },
          "Ends the session (stops a stdio server). Tools already given to agents keep it open.");

  py::class_<PyAgent>(m, "Agent",
                      "A tool-calling loop around a model with every limit enforced in code.")
      .def(py::init([](const py::object& model, const std::string& instructions,
                       const py::iterable& tools, int max_turns,
                       std::optional<int64_t> max_tool_calls, std::optional<int64_t> max_tokens,
                       std::optional<double> max_cost, bool final_answer_on_limit,
                       int max_parallel_tools, std::optional<double> temperature,
                       std::optional<int64_t> seed, const py::object& prices,
                       const py::object& run_store, std::shared_ptr<Tracer> tracer,
                       const std::string& name) {
             AgentOptions options;
             options.instructions = instructions;
             for (const py::handle& t : tools) {
               if (py::isinstance<PyMcpServer>(t)) {  // Every tool of the server.
                 McpClient* client = Open(t.cast<const PyMcpServer&>());
                 std::vector<AgentTool> listed;
                 {
                   py::gil_scoped_release release;
                   absl::StatusOr<std::vector<AgentTool>> r = client->Tools();
                   if (!r.ok()) {
                     py::gil_scoped_acquire gil;
                     throw StatusError(r.status());
                   }
                   listed = *std::move(r);
                 }
                 for (AgentTool& tool : listed) options.tools.push_back(std::move(tool));
                 continue;
               }
               options.tools.push_back(ToAgentTool(t));
             }
             options.limits.max_turns = max_turns;
             options.limits.max_tool_calls = max_tool_calls.value_or(0);
             options.limits.max_tokens = max_tokens.value_or(0);
             options.limits.max_cost = max_cost.value_or(0);
             options.limits.final_answer_on_limit = final_answer_on_limit;
             auto positive = [](std::optional<double> v, const char* name) {
               if (v && !(*v > 0)) {
                 throw StatusError(absl::InvalidArgumentError(
                     absl::StrCat(name, " must be positive or None, got ", *v)));
               }
             };
             positive(max_tool_calls ? std::optional<double>(*max_tool_calls) : std::nullopt,
                      "max_tool_calls");
             positive(max_tokens ? std::optional<double>(*max_tokens) : std::nullopt, "max_tokens");
             positive(max_cost, "max_cost");
             options.max_parallel_tools = max_parallel_tools;
             options.request.temperature = temperature;
             options.request.seed = seed;
             options.prices = PriceTableOf(prices);
             options.tracer = std::move(tracer);
             options.name = name;
             if (!run_store.is_none()) {
               if (!py::isinstance<PyRunStore>(run_store)) {
                 throw py::type_error("run_store must be a llmkit.RunStore");
               }
               options.run_store = run_store.cast<const PyRunStore&>().store;
             }
             return PyAgent{ValueOrThrow(Agent::Create(ModelsOf(model).chat, std::move(options)))};
           }),
           py::arg("model"), py::kw_only(), py::arg("instructions") = "",
           py::arg("tools") = py::tuple(), py::arg("max_turns") = 10,
           py::arg("max_tool_calls") = py::none(), py::arg("max_tokens") = py::none(),
           py::arg("max_cost") = py::none(), py::arg("final_answer_on_limit") = false,
           py::arg("max_parallel_tools") = 8, py::arg("temperature") = py::none(),
           py::arg("seed") = py::none(), py::arg("prices") = py::none(),
           py::arg("run_store") = py::none(), py::arg("tracer") = py::none(),
           py::arg("name") = "agent")
      .def(
          "run",
          [](const PyAgent& self, const py::object& input, const py::object& variables,
             std::optional<double> timeout, const py::object& tags, const py::object& on_event) {
            std::vector<Message> messages = ToInput(input);
            AgentRunOptions run;
            if (!variables.is_none()) {
              if (!py::isinstance<py::dict>(variables)) {
                throw py::type_error("variables must be a dict");
              }
              run.variables = PythonToJson(variables);
            }
            std::shared_ptr<Agent> agent = self.agent;
            return RunAgent(timeout, tags, on_event, run,
                            [&](const CallContext& call, const AgentRunOptions& options) {
                              return agent->Run(std::move(messages), call, options);
                            });
          },
          py::arg("input"), py::kw_only(), py::arg("variables") = py::none(),
          py::arg("timeout") = py::none(), py::arg("tags") = py::none(),
          py::arg("on_event") = py::none(),
          "Runs the loop on `input` (a str, or a list of message dicts to continue) and returns "
          "an AgentResult. `on_event` is called with each AgentEvent.")
      .def(
          "as_tool",
          [](const PyAgent& self, const std::string& name, const std::string& description) {
            return self.agent->AsTool(name, description);
          },
          py::arg("name"), py::arg("description") = "",
          "This agent as a tool of another (arguments {'input': str}); the nested run draws from "
          "the calling run's ceilings and its usage counts in the caller's.")
      .def(
          "resume",
          [](const PyAgent& self, const std::string& run_id, std::optional<double> timeout,
             const py::object& tags, const py::object& on_event) {
            std::shared_ptr<Agent> agent = self.agent;
            return RunAgent(timeout, tags, on_event, {},
                            [&](const CallContext& call, const AgentRunOptions& options) {
                              return agent->Resume(run_id, call, options);
                            });
          },
          py::arg("run_id"), py::kw_only(), py::arg("timeout") = py::none(),
          py::arg("tags") = py::none(), py::arg("on_event") = py::none(),
          "Continues a run saved awaiting approval once its calls are decided (from any "
          "process).");
}

}  // namespace llmkit::python
