"""A small OpenAI-compatible server for tests, which misbehaves on request.

The prompt picks the behaviour: it may contain "#cut" (the stream stops mid-answer),
"#malformed" (a broken event), "#500", "#stall" (silence after two pieces),
"#slowfirst" (silence before the first byte), "#error-event" (an error object mid-stream);
a thinking model: "#think-deltas" (50 `reasoning_content` deltas, then 10 answer deltas,
10 ms apart, usage counting all 60), "#reasoning-field" (the same as vLLM's `reasoning`),
"#think-tags" (`<think>…</think>` inside the content), "#harmony" (gpt-oss channels in the
content).
Model "locked" wants the key "good-key"; any model id not listed gives 404.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODELS = ["fake-model", "locked"]
WORDS = ["Hello", " from", " the", " fake", " server", "."]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path, dict(self.headers)))
        if self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "owned_by": "tests",
                 "meta": {"n_ctx_train": 4096, "n_params": 270000000}} for m in MODELS]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append(("POST", self.path, dict(self.headers)))
        self.server.bodies.append(body)
        if self.path != "/v1/chat/completions":
            self._json(404, {"error": {"message": "no such endpoint"}})
            return
        model = body.get("model")
        if model not in MODELS:
            self._json(404, {"error": {"message": f"model '{model}' not found"}})
            return
        if model == "locked" and self.headers.get("Authorization") != "Bearer good-key":
            self._json(401, {"error": {"message": "invalid api key"}})
            return
        prompt = body["messages"][-1]["content"]
        if "#500" in prompt:
            self._json(500, {"error": {"message": "the GPU caught fire"}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if "#slowfirst" in prompt:
            time.sleep(self.server.pause_s)
        with suppress(BrokenPipeError, ConnectionResetError):
            self._stream(prompt, body)

    def _event(self, payload: dict[str, Any] | str) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()

    def _think(self, prompt: str) -> None:
        """A thinking model's stream: 50 thinking deltas, then 10 of the answer."""
        field = "reasoning" if "#reasoning-field" in prompt else "reasoning_content"
        deltas: list[dict[str, str]] = []
        if "#think-tags" in prompt:
            deltas = [{"content": "<think>"}, *({"content": f" t{i}"} for i in range(48)),
                      {"content": "</think>\n\n"}]
        elif "#harmony" in prompt:
            deltas = [{"content": "<|channel|>analysis<|message|>"},
                      *({"content": f" t{i}"} for i in range(48)),
                      {"content": "<|end|><|start|>assistant<|channel|>final<|message|>"}]
        else:
            deltas = [{field: f" t{i}"} for i in range(50)]
        deltas += [{"content": f" a{i}"} for i in range(10)]
        for delta in deltas:
            self._event({"choices": [{"index": 0, "delta": delta}]})
            time.sleep(0.01)
        self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self._event({"choices": [], "usage": {
            "prompt_tokens": 11, "completion_tokens": 60, "total_tokens": 71,
            "prompt_tokens_details": {"cached_tokens": 0}}})
        self._event("[DONE]")

    def _stream(self, prompt: str, body: dict[str, Any]) -> None:
        self.wfile.write(b": keep-alive comment\n\n")
        self._event({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
        if any(mark in prompt for mark in ("#think", "#reasoning-field", "#harmony")):
            self._think(prompt)
            return
        limit = body.get("max_tokens") or len(WORDS)
        sent = 0
        for i, word in enumerate(WORDS[:limit]):
            if i == 2 and "#cut" in prompt:
                return  # the connection closes without [DONE]
            if i == 2 and "#malformed" in prompt:
                self._event("{not json")
                return
            if i == 2 and "#error-event" in prompt:
                self._event({"error": {"message": "out of memory"}})
                return
            if i == 2 and "#stall" in prompt:
                time.sleep(self.server.pause_s)
                return
            self._event({"choices": [{"index": 0, "delta": {"content": word}}]})
            sent += 1
            time.sleep(0.005)
        reason = "length" if sent >= limit and limit < len(WORDS) else "stop"
        self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
        if self.server.send_usage:
            self._event({"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens":
                                                  sent + 1, "total_tokens": sent + 12},
                         "timings": {"prompt_n": 11, "prompt_per_second": 480.5,
                                     "predicted_n": sent + 1, "predicted_per_second": 95.25}})
        self._event("[DONE]")


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0, pause_s: float = 2.0, send_usage: bool = True) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.pause_s = pause_s
        self.send_usage = send_usage
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.bodies: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@contextmanager
def serving(**kwargs: Any) -> Iterator[FakeServer]:
    server = FakeServer(**kwargs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
