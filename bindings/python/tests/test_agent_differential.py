"""llmkit's agent loop against the OpenAI Agents SDK (npm @openai/agents 0.20, Chat Completions
API) on the same scripted conversations: each scenario is served by a fresh scripted
OpenAI-compatible server to the SDK (openai_agents_oracle.mjs) and to llmkit.Agent, and the two
must make the same number of model requests with the same messages, execute the same tools in
the same turns, and end the same way — at the turn limit and across an approval interrupt and
resume too."""

import json
import subprocess

import pytest

import llmkit
from conftest import PEERS, SOURCE_DIR, missing_peer
from test_agents import calls_reply as calls, serve, text_reply as text

ORACLE = SOURCE_DIR / "bindings" / "python" / "tests" / "openai_agents_oracle.mjs"


APPROVAL = [calls(("w1", "get_weather", {"city": "Paris"}), ("t1", "transfer", {"to": "bob", "amount": 50})),
            text("Sent; Paris is at 18C.")]
SCENARIOS = {
    "tools": [calls(("a", "get_weather", {"city": "Paris"}), ("b", "get_weather", {"city": "Oslo"})),
              calls(("c", "transfer", {"to": "bob", "amount": 5})),
              text("Paris 18C, Oslo 18C; sent 5 to bob.")],
    "max_turns": [calls((f"c{i}", "get_weather", {"city": "Paris"})) for i in range(5)],
    "approval": APPROVAL,
    "rejection": APPROVAL,
}


def messages(provider):
    """The messages of each request the server received."""
    return [body["messages"] for _, _, body in provider.requests]


def run_oracle(scenario):
    if not (PEERS / "node_modules" / "@openai" / "agents").exists():
        missing_peer(f"@openai/agents is not installed in {PEERS} (scripts/install-test-peers.sh)")
    server = serve(*SCENARIOS[scenario])
    try:
        done = subprocess.run(["node", str(ORACLE), str(PEERS), server.url + "/v1", scenario],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.splitlines()[-1]), messages(server)
    finally:
        server.close()


def run_llmkit(scenario, tmp_path):
    executed = []

    def get_weather(city: str) -> str:
        """Current weather for a city"""
        executed.append(["get_weather", {"city": city}])
        return f"18C in {city}"

    def transfer(to: str, amount: float) -> str:
        """Sends money"""
        executed.append(["transfer", {"to": to, "amount": amount}])
        return f"sent {amount} to {to}"

    server = serve(*SCENARIOS[scenario])
    try:
        model = llmkit.OpenAIClient(base_url=server.url + "/v1", api_key="sk-test", model="gpt-4o-mini")
        store = llmkit.RunStore(str(tmp_path / "runs.db"))
        approval = scenario in ("approval", "rejection")
        agent = llmkit.Agent(model, instructions="Be brief.", max_turns=3, run_store=store,
                             tools=[get_weather, llmkit.tool(transfer, needs_approval=approval)])
        result = agent.run("Help me.")
        interruptions = []
        if result.stop_reason == "awaiting_approval":
            interruptions = [p.tool for p in result.pending]
            for p in result.pending:
                if scenario == "approval":
                    store.approve(p.run_id, p.call_id)
                else:
                    store.reject(p.run_id, p.call_id, reason="over the limit")
            result = agent.resume(result.run_id)
        outcome = {"executed": executed, "outcome": result.stop_reason,
                   "text": result.text if result.stop_reason == "completed" else "",
                   "interruptions": interruptions}
        return outcome, messages(server)
    finally:
        server.close()


def by_turn(scenario, executed):
    """The executed calls cut into the scripted turns, each turn's sorted: the calls of one turn
    run at the same time (llmkit on threads, the SDK with Promise.all), so which of them starts
    first is not defined — only the set of each turn and the order of the turns are."""
    turns, start = [], 0
    for reply in SCENARIOS[scenario]:
        size = len(reply["choices"][0]["message"].get("tool_calls") or [])
        turns.append(sorted(executed[start:start + size], key=json.dumps))
        start += size
    assert start >= len(executed), "more calls executed than the script asked for"
    return turns


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_same_requests_tools_and_outcome_as_the_openai_agents_sdk(scenario, tmp_path):
    expected, expected_messages = run_oracle(scenario)
    got, got_messages = run_llmkit(scenario, tmp_path)
    expected["executed"] = by_turn(scenario, expected["executed"])
    got["executed"] = by_turn(scenario, got["executed"])
    assert got == expected
    assert len(got_messages) == len(expected_messages)
    for i, (ours, theirs) in enumerate(zip(got_messages, expected_messages)):
        assert ours == theirs, f"request {i + 1} differs"
