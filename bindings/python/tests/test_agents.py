"""llmkit.Agent from Python against a scripted OpenAI-compatible server on 127.0.0.1: tools from
plain functions (schemas from their signatures and docstrings), results fed back, parallel tools
that sleep, exceptions reported to the model, ceilings, deadlines, events and streams."""

import enum
import json
import threading
import time
import typing

import pytest

import llmkit
from fake_provider import Provider


def calls_reply(*calls, prompt_tokens=20, completion_tokens=9):
    return {"id": "chatcmpl-1", "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": None,
                "tool_calls": [{"id": call_id, "type": "function",
                                "function": {"name": name, "arguments": json.dumps(arguments)}}
                               for call_id, name, arguments in calls]}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def text_reply(text):
    return {"id": "chatcmpl-2", "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}}


def stream_of(reply):
    """The reply as an OpenAI stream: text in two deltas, then usage."""
    message = reply["choices"][0]["message"]
    chunks = []
    text = message.get("content") or ""
    if text:
        chunks += [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": text[:2]}}]},
                   {"choices": [{"index": 0, "delta": {"content": text[2:]}}]}]
    for i, call in enumerate(message.get("tool_calls") or []):
        chunks.append({"choices": [{"index": 0, "delta": {"tool_calls": [dict(call, index=i)]}}]})
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": reply["choices"][0]["finish_reason"]}]})
    chunks.append({"choices": [], "usage": reply["usage"]})
    return [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]


def serve(*replies):
    """A server answering with `replies` in order (streamed when asked), then 500."""
    queue = list(replies)

    def script(path, body, headers):
        if not queue:
            return 500, {}, b'{"error": {"message": "no more replies"}}', 0
        reply = queue.pop(0)
        if body.get("stream"):
            return 200, {}, stream_of(reply), 0
        return 200, {}, json.dumps(reply).encode(), 0

    return Provider(script)


@pytest.fixture
def scripted():
    servers = []

    def start(*replies):
        servers.append(serve(*replies))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def client(p):
    return llmkit.OpenAIClient(base_url=p.url + "/v1", api_key="sk-test", model="gpt-4o-mini")


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


def get_weather(city: str, unit: Unit = Unit.C, days: int = 1, hourly: bool = False,
                tags: typing.Optional[list[str]] = None) -> str:
    """Current weather for a city.

    Args:
        city: The city's name, e.g. Paris.
        unit: Degrees in which
            to answer.
        days: How many days.
    """
    return f"18C in {city}"


def test_schema_comes_from_the_signature_and_docstring():
    t = llmkit.tool(get_weather)
    assert t.name == "get_weather"
    assert t.description == "Current weather for a city."
    assert t.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city's name, e.g. Paris."},
            "unit": {"enum": ["celsius", "fahrenheit"], "description": "Degrees in which to answer."},
            "days": {"type": "integer", "description": "How many days.", "default": 1},
            "hourly": {"type": "boolean", "default": False},
            "tags": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}],
                     "default": None},
        },
        "required": ["city"],
        "additionalProperties": False,
    }
    # The schema compiles with llmkit's validator, and accepts what the function takes.
    schema = llmkit.JsonSchema(t.parameters)
    assert schema.is_valid({"city": "Paris", "tags": ["a"]})
    assert not schema.is_valid({"city": 3})

    @llmkit.tool(name="lookup", timeout=2)
    def find(query: typing.Literal["a", "b"], limit: float | None = None, **extra):
        """:param query: What to look up."""
    assert find.name == "lookup" and find.timeout == 2
    assert find.parameters["properties"]["query"] == {"enum": ["a", "b"], "description": "What to look up."}
    assert find.parameters["properties"]["limit"] == {"type": ["number", "null"], "default": None}
    assert find.parameters["additionalProperties"] is True


def test_agent_runs_python_tools_and_feeds_results_back(scripted):
    p = scripted(calls_reply(("call_1", "get_weather", {"city": "Paris"}),
                             ("call_2", "get_weather", {"city": "Oslo", "days": 2})),
                 text_reply("Paris and Oslo: 18C."))
    agent = llmkit.Agent(client(p), instructions="Be brief, {{ name }}.", tools=[get_weather])
    r = agent.run("Weather in Paris and Oslo?", variables={"name": "Bot"}, timeout=30)
    assert r.text == "Paris and Oslo: 18C."
    assert r.stop_reason == "completed"
    assert (r.turns, r.tool_calls, r.tool_errors) == (2, 2, 0)
    assert r.usage.total_tokens == 29 + 16
    assert r.cost.total > 0
    assert [m["role"] for m in r.transcript] == ["system", "user", "assistant", "tool", "tool", "assistant"]
    assert r.transcript[0]["content"] == "Be brief, Bot."
    assert r.transcript[3] == {"role": "tool", "content": "18C in Paris", "tool_call_id": "call_1"}
    sent = p.requests[1][2]
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert [m.get("content") for m in sent["messages"][3:]] == ["18C in Paris", "18C in Oslo"]
    # The transcript continues a conversation.
    p2 = scripted(text_reply("You're welcome."))
    r2 = llmkit.Agent(client(p2), tools=[get_weather]).run(r.transcript + [{"role": "user", "content": "Thanks"}])
    assert r2.text == "You're welcome."
    assert len(p2.requests[0][2]["messages"]) == 7


def test_nested_agents_share_the_callers_ceilings(scripted):
    inner_server = scripted(calls_reply(("i1", "get_weather", {"city": "A"})),
                            calls_reply(("i2", "get_weather", {"city": "B"}), ("i3", "get_weather", {"city": "C"})),
                            text_reply("never"))
    inner = llmkit.Agent(client(inner_server), tools=[get_weather])
    outer_server = scripted(calls_reply(("o1", "researcher", {"input": "weather in A, B, C"})), text_reply("outer"))
    outer = llmkit.Agent(client(outer_server), tools=[inner.as_tool("researcher", "Researches")], max_tool_calls=3)
    r = outer.run("go")
    assert r.text == "outer"
    assert "the agent stopped (max_tool_calls)" in r.transcript[2]["content"]
    assert r.usage.total_tokens == 29 * 3 + 16


def test_traced_runs_end_their_spans(scripted):
    p = scripted(calls_reply(("c1", "get_weather", {"city": "Paris"})), text_reply("18C."))
    tracer = llmkit.Tracer()
    agent = llmkit.Agent(llmkit.with_tracing(client(p), tracer, provider="openai"), tools=[get_weather],
                         tracer=tracer, name="weather")
    assert agent.run("Weather?").text == "18C."
    # invoke_agent + execute_tool + two chat spans.
    assert tracer.stats["spans_ended"] == 4


def test_three_sleeping_tools_run_in_parallel(scripted):
    def slow(name):
        def sleep() -> str:
            time.sleep(0.5)
            return name
        sleep.__name__ = name
        return sleep
    p = scripted(calls_reply(("a", "slow_a", {}), ("b", "slow_b", {}), ("c", "slow_c", {})), text_reply("done"))
    agent = llmkit.Agent(client(p), tools=[slow("slow_a"), slow("slow_b"), slow("slow_c")])
    t0 = time.monotonic()
    r = agent.run("go")
    elapsed = time.monotonic() - t0
    assert r.text == "done"
    assert 0.5 <= elapsed < 0.95, elapsed
    assert [m["content"] for m in r.transcript[2:5]] == ["slow_a", "slow_b", "slow_c"]  # The model's order.


def test_tool_errors_reach_the_model_and_never_crash(scripted):
    def broken(city: str):
        raise ValueError(f"no station in {city}")

    def returns_json(n: int):
        return {"n": n, "items": [1, 2]}

    def returns_object():
        return object()

    p = scripted(calls_reply(("c1", "broken", {"city": "Paris"}), ("c2", "returns_json", {"n": 3}),
                             ("c3", "returns_object", {}), ("c4", "broken", {"town": "x"})),
                 text_reply("ok"))
    r = llmkit.Agent(client(p), tools=[broken, returns_json, returns_object]).run("go")
    results = [m["content"] for m in r.transcript[2:6]]
    assert results[0] == "Error: ValueError: no station in Paris"
    assert json.loads(results[1]) == {"n": 3, "items": [1, 2]}
    assert results[2].startswith("<object object at")
    assert "invalid arguments for broken" in results[3]
    assert r.tool_errors == 2


def test_ceilings_and_deadline(scripted):
    loop = [calls_reply((f"c{i}", "get_weather", {"city": "Paris"})) for i in range(3)]
    p = scripted(*loop)
    r = llmkit.Agent(client(p), tools=[get_weather], max_turns=3).run("loop")
    assert (r.stop_reason, r.turns, len(p.requests)) == ("max_turns", 3, 3)

    p = scripted(*loop, text_reply("Final: 18C."))
    r = llmkit.Agent(client(p), tools=[get_weather], max_turns=3, final_answer_on_limit=True).run("loop")
    assert (r.stop_reason, r.text, p.requests[-1][2]["tool_choice"]) == ("max_turns", "Final: 18C.", "none")

    p = scripted(calls_reply(("c1", "get_weather", {"city": "A"}), ("c2", "get_weather", {"city": "B"})))
    r = llmkit.Agent(client(p), tools=[get_weather], max_tool_calls=1).run("two")
    assert r.stop_reason == "max_tool_calls"
    assert "not run" in r.transcript[-1]["content"]

    def stuck():
        time.sleep(3)
    p = scripted(calls_reply(("c1", "stuck", {})))
    t0 = time.monotonic()
    r = llmkit.Agent(client(p), tools=[stuck]).run("go", timeout=0.4)
    assert r.stop_reason == "deadline" and time.monotonic() - t0 < 1.5


def test_tool_timeout_and_token_and_cost_ceilings(scripted):
    def slow() -> str:
        time.sleep(2)
        return "late"
    p = scripted(calls_reply(("c1", "slow", {})), text_reply("gave up on it"))
    t0 = time.monotonic()
    r = llmkit.Agent(client(p), tools=[llmkit.tool(slow, timeout=0.1)]).run("go")
    assert time.monotonic() - t0 < 1.5
    assert r.text == "gave up on it" and r.tool_errors == 1
    assert "did not finish within its timeout of 100 ms" in r.transcript[2]["content"]

    p = scripted(calls_reply(("c1", "get_weather", {"city": "A"}), prompt_tokens=1000, completion_tokens=100))
    r = llmkit.Agent(client(p), tools=[get_weather], max_tokens=1000).run("go")
    assert r.stop_reason == "max_tokens" and "not run" in r.transcript[-1]["content"]

    # gpt-4o-mini: $0.15 / M input, $0.60 / M output: $0.00021 a call.
    p = scripted(calls_reply(("c1", "get_weather", {"city": "A"}), prompt_tokens=1000, completion_tokens=100),
                 calls_reply(("c2", "get_weather", {"city": "B"}), prompt_tokens=1000, completion_tokens=100))
    r = llmkit.Agent(client(p), tools=[get_weather], max_cost=0.0003).run("go")
    assert r.stop_reason == "max_cost" and len(p.requests) == 2
    assert abs(r.cost.total - 0.00042) < 1e-12


def test_events_and_stream(scripted):
    p = scripted(calls_reply(("c1", "get_weather", {"city": "Paris"})), text_reply("18C."))
    stream = llmkit.Agent(client(p), tools=[get_weather]).stream("Weather?")
    with pytest.raises(llmkit.FailedPreconditionError):
        stream.result
    events = [(e.kind, e.call.name if e.call else e.text) for e in stream]
    assert events == [("turn_started", ""), ("tool_call_started", "get_weather"),
                      ("tool_call_finished", "get_weather"), ("turn_started", ""),
                      ("text", "18"), ("text", "C."), ("finished", "18C.")]
    assert stream.result.text == "18C."

    p = scripted(calls_reply(("c1", "get_weather", {"city": "Paris"})), text_reply("18C."))

    def fails(event):
        if event.kind == "tool_call_finished":
            raise RuntimeError("the UI is gone")
    with pytest.raises(RuntimeError, match="the UI is gone"):
        llmkit.Agent(client(p), tools=[get_weather]).run("go", on_event=fails)


def test_construction_errors(scripted):
    p = scripted()
    with pytest.raises(llmkit.InvalidArgumentError, match="two tools are named"):
        llmkit.Agent(client(p), tools=[get_weather, get_weather])
    with pytest.raises(TypeError, match="tools must be"):
        llmkit.Agent(client(p), tools=[42])
    with pytest.raises(llmkit.InvalidArgumentError, match="max_turns"):
        llmkit.Agent(client(p), max_turns=0)
    with pytest.raises(llmkit.InvalidArgumentError, match="max_cost"):
        llmkit.Agent(client(p), max_cost=-1.0)
    with pytest.raises(ValueError, match="timeout"):
        llmkit.tool(get_weather, timeout=0)
    with pytest.raises(TypeError):
        llmkit.Agent("not a model")


def test_model_errors_raise(scripted):
    p = scripted()
    with pytest.raises(llmkit.UnavailableError):
        llmkit.Agent(client(p)).run("go")


def test_ctrl_c_style_cancellation_from_a_thread(scripted):
    # A tool that waits on an event the test never sets: the run's timeout ends it promptly
    # even though the tool does not return, and the process is not stuck on the tool.
    gate = threading.Event()

    def waits():
        gate.wait(5)
        return "late"
    p = scripted(calls_reply(("c1", "waits", {})))
    t0 = time.monotonic()
    r = llmkit.Agent(client(p), tools=[waits]).run("go", timeout=0.3)
    gate.set()
    assert r.stop_reason == "deadline" and time.monotonic() - t0 < 1.5


# The approval test's child process: runs (or resumes) an agent whose transfer tool needs
# approval, against the parent's scripted server, and prints the result as JSON. `run` ends by
# killing itself (SIGKILL: no clean-up of any kind) right after the run paused.
CHILD = r"""
import json, os, signal, sys
import llmkit
url, db, log, mode = sys.argv[1:5]

def get_weather(city: str) -> str:
    return f"18C in {city}"

def transfer(to: str, amount: float) -> str:
    with open(log, "a") as f:
        f.write(f"{os.getpid()} {to} {amount}\n")
    return f"sent {amount} to {to}"

client = llmkit.OpenAIClient(base_url=url + "/v1", api_key="sk-test", model="gpt-4o-mini")
agent = llmkit.Agent(client, tools=[get_weather, llmkit.tool(transfer, needs_approval=mode != "plain")],
                     run_store=llmkit.RunStore(db))
r = agent.resume(sys.argv[5]) if mode == "resume" else agent.run("Pay bob 50, and the weather?")
print(json.dumps({"run_id": r.run_id, "stop_reason": r.stop_reason, "text": r.text,
                  "transcript": r.transcript, "tokens": r.usage.total_tokens}), flush=True)
if mode == "run":
    os.kill(os.getpid(), signal.SIGKILL)
"""

APPROVAL_REPLIES = [
    calls_reply(("w1", "get_weather", {"city": "Paris"}), ("t1", "transfer", {"to": "bob", "amount": 50})),
    text_reply("Sent 50 to bob. Paris: 18C."),
]


def child(tmp_path, url, mode, *extra):
    import os
    import subprocess
    import sys
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    done = subprocess.run([sys.executable, str(script), url, str(tmp_path / "runs.db"), str(tmp_path / "log"),
                           mode, *extra], capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert done.stdout, done.stderr
    return done, json.loads(done.stdout.splitlines()[-1])


def test_approval_survives_a_killed_process(scripted, tmp_path):
    plain = scripted(*APPROVAL_REPLIES)
    _, expected = child(tmp_path, plain.url, "plain")
    (tmp_path / "log").unlink()

    p = scripted(*APPROVAL_REPLIES)
    done, paused = child(tmp_path, p.url, "run")
    assert done.returncode == -9  # Killed right after the pause.
    assert paused["stop_reason"] == "awaiting_approval"
    assert not (tmp_path / "log").exists()  # Nothing was sent yet.

    store = llmkit.RunStore(str(tmp_path / "runs.db"))
    [pending] = store.pending()
    assert (pending.run_id, pending.call_id, pending.tool, pending.arguments) == (
        paused["run_id"], "t1", "transfer", {"to": "bob", "amount": 50})
    assert store.get(paused["run_id"]).status == "awaiting_approval"
    store.approve(pending.run_id, pending.call_id)
    with pytest.raises(llmkit.FailedPreconditionError, match="already approved"):
        store.reject(pending.run_id, pending.call_id, reason="changed my mind")

    done, resumed = child(tmp_path, p.url, "resume", paused["run_id"])
    assert done.returncode == 0, done.stderr
    assert resumed["stop_reason"] == "completed"
    assert resumed["transcript"] == expected["transcript"]
    assert resumed["tokens"] == expected["tokens"]
    assert len(p.requests) == 2  # No model call was repeated.
    [line] = (tmp_path / "log").read_text().splitlines()
    assert line.split()[1:] == ["bob", "50"]
    assert store.get(paused["run_id"]).status == "completed"
    assert store.pending() == []


def test_rejection_and_edited_arguments_from_python(scripted, tmp_path):
    sent = []

    def transfer(to: str, amount: float) -> str:
        sent.append((to, amount))
        return f"sent {amount} to {to}"

    p = scripted(calls_reply(("t1", "transfer", {"to": "bob", "amount": 50}),
                             ("t2", "transfer", {"to": "eve", "amount": 5000})),
                 text_reply("ok"))
    store = llmkit.RunStore(str(tmp_path / "runs.db"))
    big = llmkit.tool(transfer, needs_approval=lambda args: args["amount"] > 100)
    agent = llmkit.Agent(client(p), tools=[big], run_store=store)
    events = []
    r = agent.run("pay", on_event=lambda e: events.append(e.kind))
    assert r.stop_reason == "awaiting_approval" and [x.call_id for x in r.pending] == ["t2"]
    assert "approval_requested" in events
    assert sent == [("bob", 50)]
    store.approve(r.run_id, "t2", arguments={"to": "eve", "amount": 500})
    r = agent.resume(r.run_id)
    assert r.text == "ok" and sent == [("bob", 50), ("eve", 500)]

    p = scripted(calls_reply(("t3", "transfer", {"to": "eve", "amount": 5000})), text_reply("ok"))
    agent = llmkit.Agent(client(p), tools=[big], run_store=store)
    r = agent.run("pay")
    store.reject(r.run_id, "t3", reason="over the limit")
    r = agent.resume(r.run_id)
    assert r.transcript[-2]["content"] == "over the limit"
    with pytest.raises(llmkit.InvalidArgumentError, match="run_store"):
        llmkit.Agent(client(p), tools=[big])
    with pytest.raises(llmkit.NotFoundError):
        store.approve("run_nope", "t1")


def test_review_cli_lists_shows_and_decides(scripted, tmp_path):
    import os
    import pathlib
    import subprocess
    from conftest import SOURCE_DIR
    cli = pathlib.Path(os.environ.get("LLMKIT_BUILD_DIR", SOURCE_DIR / "build" / "release")) / "cli" / "llmkit"
    if not cli.exists():
        pytest.skip(f"{cli} is not built")
    db = str(tmp_path / "runs.db")

    def transfer(to: str, amount: float) -> str:
        return f"sent {amount} to {to}"

    p = scripted(calls_reply(("t1", "transfer", {"to": "bob", "amount": 50}),
                             ("t2", "transfer", {"to": "eve", "amount": 70})),
                 text_reply("done"))
    agent = llmkit.Agent(client(p), tools=[llmkit.tool(transfer, needs_approval=True)],
                         run_store=llmkit.RunStore(db))
    r = agent.run("pay")

    def review(*args, check=0):
        done = subprocess.run([str(cli), "review", *args], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, LLMKIT_RUN_STORE=db))
        assert done.returncode == check, done.stderr
        return done

    listed = json.loads(review("list", "--json").stdout)
    assert [(x["run_id"], x["call_id"], x["tool"], x["arguments"]) for x in listed] == [
        (r.run_id, "t1", "transfer", {"to": "bob", "amount": 50}),
        (r.run_id, "t2", "transfer", {"to": "eve", "amount": 70})]
    table = review("list").stdout
    assert "transfer" in table and r.run_id in table and '{"to":"bob","amount":50}' in table
    shown = review("show", r.run_id).stdout
    assert "awaiting_approval" in shown and "[awaiting approval]" in shown and "[user] pay" in shown
    assert "approved t1" in review("approve", r.run_id, "t1", "--arguments", '{"to": "bob", "amount": 5}').stdout
    assert "rejected t2" in review("reject", r.run_id, "t2", "--reason", "unknown payee").stdout
    assert "already rejected" in review("reject", r.run_id, "t2", check=1).stderr
    assert "JSON object" in review("approve", r.run_id, "t1", "--arguments", "[1]", check=2).stderr
    assert "no calls are waiting" in review("list").stdout
    done = agent.resume(r.run_id)
    assert [m["content"] for m in done.transcript[2:4]] == [
        "sent 5 to bob", "unknown payee"]
    assert json.loads(review("show", r.run_id, "--json").stdout)["status"] == "completed"
    assert "no run" in review("show", "run_nope", check=1).stderr
    review("frobnicate", check=2)


def test_mcp_server_over_stdio_and_in_an_agent(scripted, mcp_everything):
    server = llmkit.McpServer.stdio(mcp_everything, timeout=30)
    assert server.protocol_version == "2025-06-18"
    assert server.server_info["name"] == "mcp-servers/everything"
    names = [t["name"] for t in server.list_tools()]
    assert "echo" in names and "get-sum" in names
    assert server.call_tool("echo", {"message": "hi"})["text"] == "Echo: hi"
    with pytest.raises(llmkit.DeadlineExceededError):
        server.call_tool("trigger-long-running-operation", {"duration": 5, "steps": 5}, timeout=0.3)

    p = scripted(calls_reply(("c1", "get-sum", {"a": 2, "b": 40}), ("c2", "local", {})), text_reply("42"))

    def local() -> str:
        return "local result"
    agent = llmkit.Agent(client(p), tools=[server, local])   # Every tool of the server, and a function.
    r = agent.run("2 + 40?", timeout=30)
    assert r.text == "42"
    assert [m["content"] for m in r.transcript[2:4]] == ["The sum of 2 and 40 is 42.", "local result"]
    prefixed = server.tools(prefix="everything_")
    assert all(t.name.startswith("everything_") for t in prefixed)
    assert prefixed[0].parameters["type"] == "object"
    server.close()
    with pytest.raises(llmkit.FailedPreconditionError):
        server.list_tools()


def test_mcp_server_over_http(mcp_everything_url):
    server = llmkit.McpServer.http(mcp_everything_url, timeout=30)
    result = server.call_tool("get-sum", {"a": 20, "b": 22})
    assert result == {"text": "The sum of 20 and 22 is 42.", "is_error": False,
                      "content": [{"type": "text", "text": "The sum of 20 and 22 is 42."}],
                      "structured_content": None}
    with pytest.raises(llmkit.UnavailableError):
        llmkit.McpServer.stdio(["llmkit-no-such-server"])
