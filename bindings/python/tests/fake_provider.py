"""A scripted OpenAI/Anthropic server on 127.0.0.1 (http.server in a thread) for the Python client
tests and the docs' examples, with canned answers in both providers' formats.

    python3 fake_provider.py [--openai-down] COMMAND...
        runs COMMAND with OPENAI_BASE_URL, ANTHROPIC_BASE_URL and both API keys pointing at a fake
        server (ctest runs the C++ client examples this way) and exits with its status; with
        --openai-down the OpenAI-compatible side answers 503.
"""

import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "Checking.",
        "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
    "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29,
              "prompt_tokens_details": {"cached_tokens": 16},
              "completion_tokens_details": {"reasoning_tokens": 4}},
}
ANSWER = {
    "id": "chatcmpl-2", "object": "chat.completion", "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ""}}],
    "usage": {"prompt_tokens": 42, "completion_tokens": 8, "total_tokens": 50},
}
CHUNKS = [
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Check"}}]},
    {"choices": [{"index": 0, "delta": {"content": "ing."}}]},
    {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                                        "function": {"name": "get_weather", "arguments": "{\"city\":"}}]}}]},
    {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}}]},
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    {"choices": [], "usage": COMPLETION["usage"]},
]
ANTHROPIC_MESSAGE = {
    "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "Checking Paris."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
    "stop_reason": "tool_use",
    "usage": {"input_tokens": 12, "output_tokens": 30, "cache_read_input_tokens": 100,
              "cache_creation_input_tokens": 8},
}
ANTHROPIC_EVENTS = [
    ("message_start", {"type": "message_start", "message": {"id": "msg_01", "model": "claude-sonnet-4-5",
                                                            "usage": {"input_tokens": 12, "output_tokens": 1,
                                                                      "cache_read_input_tokens": 100,
                                                                      "cache_creation_input_tokens": 8}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ("ping", {"type": "ping"}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "text_delta", "text": "Checking Paris."}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("content_block_start", {"type": "content_block_start", "index": 1,
                             "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1,
                             "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Paris\"}"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 1}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}}),
    ("message_stop", {"type": "message_stop"}),
]


class Provider:
    """A scripted OpenAI/Anthropic server. `script(path, body, headers)` returns
    (status, headers, body bytes or a list of byte pieces to stream, delay seconds)."""

    def __init__(self, script):
        self.requests = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                provider.requests.append((self.path, dict(self.headers), json.loads(body)))
                status, headers, payload, delay = script(self.path, json.loads(body), self.headers)
                time.sleep(delay)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if isinstance(payload, list):  # Streamed: no length, close at the end.
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for piece in payload:
                        self.wfile.write(piece)
                        self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def sse(events, cut=7):
    text = "".join(events).encode()
    return [text[i:i + cut] for i in range(0, len(text), cut)]


CAPITALS = {"France": "Paris", "Italy": "Rome", "Japan": "Tokyo", "Kenya": "Nairobi", "Peru": "Lima"}


def quiz_answer(question):
    """The eval examples' quiz (examples/eval): "Quiz: ... capital of X?" is answered in a
    sentence, "Quiz (JSON): ..." as a JSON object."""
    match = re.search(r"capital of (\w+)", question)
    country = match.group(1) if match else "nowhere"
    capital = CAPITALS.get(country, "unknown")
    if question.startswith("Quiz (JSON)"):
        return json.dumps({"country": country, "capital": capital})
    return f"The capital of {country} is {capital}."


def openai_script(path, body, headers):
    last = (body.get("messages") or [{}])[-1]
    if path.endswith("/chat/completions") and str(last.get("content", "")).startswith("Quiz"):
        answer = json.loads(json.dumps(ANSWER))
        answer["choices"][0]["message"]["content"] = quiz_answer(last["content"])
        return 200, {"x-request-id": "req_q"}, json.dumps(answer).encode(), 0
    if path.endswith("/embeddings"):
        data = []
        for i, text in enumerate(body["input"]):
            v = np.array([len(text), i, 0.25, -1.5e-7], dtype="<f4")
            emb = base64.b64encode(v.tobytes()).decode() if body.get("encoding_format") == "base64" else v.tolist()
            data.append({"object": "embedding", "index": i, "embedding": emb})
        data.reverse()  # Out of order on purpose.
        usage = {"prompt_tokens": len(data), "total_tokens": len(data)}
        return 200, {}, json.dumps({"object": "list", "data": data, "model": body["model"], "usage": usage}).encode(), 0
    messages = body.get("messages") or [{}]
    if messages[-1].get("role") == "tool":  # A tool's result came back: answer with it.
        answer = json.loads(json.dumps(ANSWER))
        text = answer["choices"][0]["message"]["content"] = f"The weather: {messages[-1].get('content')}."
        if body.get("stream"):
            chunks = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": text}}]},
                      {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                      {"choices": [], "usage": ANSWER["usage"]}]
            return 200, {"x-request-id": "req_2"}, sse([f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]), 0
        return 200, {"x-request-id": "req_2"}, json.dumps(answer).encode(), 0
    if body.get("stream"):
        return 200, {"x-request-id": "req_s"}, sse([f"data: {json.dumps(c)}\n\n" for c in CHUNKS] + ["data: [DONE]\n\n"]), 0
    return 200, {"x-request-id": "req_1"}, json.dumps(COMPLETION).encode(), 0


def anthropic_script(path, body, headers):
    if body.get("stream"):
        return 200, {"request-id": "req_a"}, sse([f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in ANTHROPIC_EVENTS]), 0
    return 200, {"request-id": "req_a"}, json.dumps(ANTHROPIC_MESSAGE).encode(), 0



def both_script(path, body, headers):
    """Anthropic at /v1/messages, OpenAI-compatible everywhere else."""
    if path.endswith("/messages"):
        return anthropic_script(path, body, headers)
    return openai_script(path, body, headers)


def fake_environment(url):
    return {"OPENAI_BASE_URL": url + "/v1", "OPENAI_API_KEY": "sk-fake",
            "ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "sk-ant-fake"}


def openai_down_script(path, body, headers):
    """Anthropic answers; the OpenAI-compatible side is down (503)."""
    if path.endswith("/messages"):
        return anthropic_script(path, body, headers)
    return 503, {}, b'{"error":{"message":"down for the example"}}', 0


if __name__ == "__main__":
    args = sys.argv[1:]
    script = both_script
    if args[:1] == ["--openai-down"]:
        args, script = args[1:], openai_down_script
    server = Provider(script)
    try:
        code = subprocess.run(args, env=dict(os.environ, **fake_environment(server.url))).returncode
    finally:
        server.close()
    sys.exit(code)
