"""OpenAI-compatible chat servers (llama-server, vLLM, Ollama, llama-cpp-python's server).

Standard library HTTP only. The API key is sent in a header and kept nowhere else: not in
the session's settings, the model's description, error messages or logs.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from rbyf_tui.backends import public_url
from rbyf_tui.backends.base import ChatRequest, ModelInfo, StreamEnd
from rbyf_tui.backends.reasoning import Reasoning, ThoughtSplitter
from rbyf_tui.errors import BackendError, ModelError
from rbyf_tui.metrics import tiktoken_count

FINISH = {"stop": "stop", "length": "length", "eos": "stop"}


@dataclass(frozen=True)
class OpenAISettings:
    base_url: str
    api_model: str | None = None
    api_key: str | None = None
    connect_timeout_s: float = 10.0
    first_byte_timeout_s: float = 600.0  # a long prompt on a busy server takes a while
    idle_timeout_s: float = 120.0  # between two pieces of the answer
    retries: int = 3
    backoff_s: float = 0.5


class _Endpoint:
    """Where the server is: scheme, host, port and the /v1 prefix."""

    def __init__(self, base_url: str) -> None:
        url = base_url.strip().rstrip("/")
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ModelError(f"--base-url {public_url(base_url)!r} is not an http(s) URL: "
                             "pass e.g. http://127.0.0.1:8080/v1")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        path = parts.path.rstrip("/")
        self.prefix = path if path.endswith("/v1") else path + "/v1"
        # user:password@ is sent as Basic auth and kept out of the URL shown and stored
        host = parts.netloc.rpartition("@")[2]
        self.url = f"{parts.scheme}://{host}{self.prefix}"
        self.basic = None
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self.basic = base64.b64encode(pair.encode()).decode()

    def connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)


def _connect_error(exc: BaseException, url: str) -> str:
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host of {url}: check --base-url"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {url}: is the server running?"
    if isinstance(exc, TimeoutError):
        return f"no answer from {url} within the connect timeout: check the address"
    return f"cannot reach {url}: {exc}"


class OpenAIBackend:
    name = "openai"

    def __init__(self, settings: OpenAISettings) -> None:
        self.settings = settings
        self.endpoint = _Endpoint(settings.base_url)
        self._info: ModelInfo | None = None
        self._model_id: str | None = settings.api_model

    # --- plumbing -----------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        elif self.endpoint.basic:
            headers["Authorization"] = f"Basic {self.endpoint.basic}"
        return headers

    def _open(self, method: str, path: str, body: dict[str, Any] | None, timeout: float,
              opened: list[socket.socket] | None = None,
              cancel: threading.Event | None = None,
              ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse, socket.socket]:
        """Send a request, retrying failures to connect with backoff; return the response.

        `timeout` bounds the wait for the first byte once connected; each socket is appended
        to `opened` so a cancel can shut it from another thread. The socket is returned too:
        http.client hands it to the response and forgets it when the server closes after.
        """
        s = self.settings
        payload = json.dumps(body).encode() if body is not None else None
        attempt = 0
        while True:
            conn = self.endpoint.connection(s.connect_timeout_s)
            connected = False
            try:
                conn.connect()
                connected = True
                sock = conn.sock
                assert sock is not None
                if opened is not None:
                    opened.append(sock)
                sock.settimeout(timeout)
                conn.request(method, self.endpoint.prefix + path, body=payload,
                             headers=self._headers())
                return conn, conn.getresponse(), sock
            except TimeoutError as exc:
                conn.close()
                if connected:
                    raise BackendError(f"{self.endpoint.url} sent nothing for {timeout:g} s "
                                       "after the request: the server is busy or stuck"
                                       ) from None
                error = _connect_error(exc, self.endpoint.url)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if connected:  # a server that hangs up on a request is not retried
                    raise BackendError(f"{self.endpoint.url} closed the connection before "
                                       "answering") from None
                error = _connect_error(exc, self.endpoint.url)
            attempt += 1
            if attempt > s.retries or (cancel is not None and cancel.is_set()):
                raise BackendError(f"{error} (tried {attempt} times)")
            time.sleep(s.backoff_s * 2 ** (attempt - 1))

    def _status_error(self, status: int, body: bytes) -> BackendError:
        detail = _error_detail(body)
        url = self.endpoint.url
        if status in (401, 403):
            return BackendError(f"{url} refused the API key ({status}): set RBYF_API_KEY "
                                "(or OPENAI_API_KEY) to a key it accepts, or give "
                                "user:password@ in --base-url")
        if status == 404:
            return BackendError(f"{url} has no model '{self._model_id}' or no chat endpoint "
                                f"(404{': ' + detail if detail else ''}): check --api-model "
                                "and --base-url")
        if status >= 500:
            return BackendError(f"{url} failed with {status}{': ' + detail if detail else ''}")
        return BackendError(f"{url} rejected the request ({status}"
                            f"{': ' + detail if detail else ''})")

    # --- Backend ------------------------------------------------------------------------

    def load(self) -> ModelInfo:
        """Ask the server which models it serves; one line and no session if it cannot."""
        try:
            conn, resp, _ = self._open("GET", "/models", None, self.settings.connect_timeout_s)
        except BackendError as exc:
            raise ModelError(str(exc)) from None
        try:
            body = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise ModelError(str(self._status_error(resp.status, body)))
        try:
            served = [m for m in json.loads(body).get("data", []) if isinstance(m, dict)]
        except (ValueError, AttributeError):
            raise ModelError(f"{self.endpoint.url}/models did not answer JSON: is this an "
                             "OpenAI-compatible server?") from None
        ids = [str(m.get("id")) for m in served]
        if self._model_id is None:
            if len(ids) != 1:
                raise ModelError(f"{self.endpoint.url} serves {len(ids)} models "
                                 f"({', '.join(ids) or 'none'}): pick one with --api-model")
            self._model_id = ids[0]
        elif ids and self._model_id not in ids:
            raise ModelError(f"{self.endpoint.url} does not serve '{self._model_id}': it "
                             f"serves {', '.join(ids)}; pass one of them to --api-model")
        about = next((m for m in served if m.get("id") == self._model_id), {})
        meta = about.get("meta") if isinstance(about.get("meta"), dict) else {}
        name = self._model_id.rstrip("/").rsplit("/", 1)[-1].removesuffix(".gguf")
        self._info = ModelInfo(
            key=f"openai:{self.endpoint.url}#{self._model_id}",
            name=name,
            backend=self.name,
            path=self._model_id,
            n_ctx=meta.get("n_ctx_train"),
            n_ctx_train=meta.get("n_ctx_train"),
            parameters=str(meta["n_params"]) if "n_params" in meta else None,
            size_bytes=meta.get("size"),
            extra={"base_url": self.endpoint.url, "api_model": self._model_id,
                   "owned_by": about.get("owned_by"), "server_meta": meta},
        )
        return self._info

    def describe(self) -> ModelInfo:
        if self._info is None:
            raise ModelError("the server has not been asked for its model yet")
        return self._info

    def close(self) -> None:
        pass

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        s = request.sampling
        body: dict[str, Any] = {
            "model": self._model_id,
            "messages": [dict(m) for m in request.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            # llama.cpp's names; vLLM and llama-server accept top_k and min_p too.
            "top_k": s.top_k,
            "min_p": s.min_p,
            "repeat_penalty": s.repeat_penalty,
            # every task from a cold prompt, as in-process: llama-server would reuse the
            # prefix of the previous request and make TTFT incomparable across tasks
            "cache_prompt": False,
        }
        if s.stop:
            body["stop"] = list(s.stop)
        if s.seed is not None:
            body["seed"] = s.seed
        if s.thinking is not None:  # llama-server and vLLM pass these to the template
            body["chat_template_kwargs"] = {"enable_thinking": s.thinking}
        return body

    def stream(self, request: ChatRequest,
               cancel: threading.Event) -> Iterator[str | Reasoning | StreamEnd]:
        opened: list[socket.socket] = []
        conn: http.client.HTTPConnection | None = None
        done = threading.Event()
        watcher = threading.Thread(target=_close_on_cancel, args=(opened, cancel, done),
                                   name="rbyf-http-cancel", daemon=True)
        watcher.start()
        try:
            try:
                conn, resp, sock = self._open("POST", "/chat/completions", self._body(request),
                                              self.settings.first_byte_timeout_s, opened,
                                              cancel)
            except BackendError:
                if not cancel.is_set():
                    raise
                yield self._end("cancelled", {}, {}, Pieces(), request)
                return
            if resp.status != 200:
                raise self._status_error(resp.status, resp.read())
            yield from self._events(resp, sock, request, cancel)
        finally:
            done.set()
            if conn is not None:
                conn.close()
            for sock in opened:
                sock.close()

    def _events(self, resp: http.client.HTTPResponse, sock: socket.socket, request: ChatRequest,
                cancel: threading.Event) -> Iterator[str | Reasoning | StreamEnd]:
        usage: dict[str, Any] = {}
        timings: dict[str, Any] = {}
        finish: str | None = None
        pieces = Pieces()
        # think tags in the content (a server without a reasoning parser); separate
        # reasoning deltas need no splitting
        splitter = ThoughtSplitter()
        first = True
        while True:
            try:
                raw = resp.readline()
            except TimeoutError:
                if cancel.is_set():
                    break
                wait = self.settings.first_byte_timeout_s if first else \
                    self.settings.idle_timeout_s
                what = "the first token" if first else "the next token"
                raise BackendError(f"{self.endpoint.url} sent nothing for {wait:g} s while "
                                   f"waiting for {what}: the server is stuck or overloaded"
                                   ) from None
            except (OSError, http.client.HTTPException, ValueError):
                if cancel.is_set():
                    break
                raise BackendError(f"{self.endpoint.url} cut the stream mid-answer") from None
            if cancel.is_set():
                break
            if not raw:
                if finish is None:
                    raise BackendError(f"{self.endpoint.url} closed the stream mid-answer")
                break
            if first:
                sock.settimeout(self.settings.idle_timeout_s)
                first = False
            line = raw.decode("utf-8", errors="replace").strip()
            if not line.startswith("data:"):
                continue  # blank lines, comments, event names
            data = line[5:].strip()
            if data == "[DONE]":
                break
            try:
                event = json.loads(data)
                if not isinstance(event, dict):
                    raise ValueError(data)
            except ValueError:
                raise BackendError(f"{self.endpoint.url} sent a malformed event: "
                                   f"{data[:80]!r}") from None
            if "error" in event:
                raise BackendError(f"{self.endpoint.url} reported an error mid-answer: "
                                   f"{_error_detail(data.encode())}")
            if isinstance(event.get("usage"), dict):
                usage = event["usage"]
            if isinstance(event.get("timings"), dict):
                timings = event["timings"]
            for choice in event.get("choices") or []:
                delta = choice.get("delta") or {}
                thought = delta.get("reasoning_content") or delta.get("reasoning")
                if isinstance(thought, str) and thought:
                    pieces.add()
                    pieces.reasoning += 1
                    yield Reasoning(thought)
                text = delta.get("content")
                if isinstance(text, str) and text:
                    pieces.add()
                    if not splitter.closed:  # up to the delta that ends a think block
                        pieces.before_close += 1
                    yield from splitter.feed(text)
                if choice.get("finish_reason"):
                    finish = FINISH.get(choice["finish_reason"], "stop")
        yield from splitter.finish()
        if cancel.is_set():
            finish = "cancelled"
        pieces.tagged = splitter.thought
        yield self._end(finish or "stop", usage, timings, pieces, request,
                        "sent" if request.sampling.thinking is not None else None)

    def _end(self, finish: str, usage: dict[str, Any], timings: dict[str, Any],
             pieces: Pieces, request: ChatRequest, thinking: str | None = None) -> StreamEnd:
        prompt = usage.get("prompt_tokens")
        completion = usage.get("completion_tokens")
        estimated = not (isinstance(prompt, int) and isinstance(completion, int))
        if estimated:
            # The server sent no usage: streamed pieces stand in for sampled tokens, and
            # the cl100k count of the request for the prompt. Marked as estimated.
            prompt, completion = tiktoken_count(request.text()), pieces.count
        extra: dict[str, Any] = {"server_timings": timings} if timings else {}
        evaluated, cached = _prompt_cache(usage, timings, prompt)
        return StreamEnd(
            finish_reason=finish,
            prompt_tokens=prompt,
            completion_tokens=completion,
            engine_prompt_tps=_positive(timings.get("prompt_per_second")),
            engine_decode_tps=_positive(timings.get("predicted_per_second")),
            tokens_estimated=estimated,
            reasoning_tokens=_reasoning_tokens(usage, pieces),
            prompt_eval_tokens=evaluated,
            prompt_cached_tokens=cached,
            thinking=thinking,
            first_token_at=pieces.first_at,
            extra=extra,
        )


@dataclass
class Pieces:
    """What the stream's deltas tell (a server sends about one per token): how many, how
    many were thinking, and when the first came."""

    count: int = 0
    reasoning: int = 0  # separate reasoning deltas
    before_close: int = 0  # content deltas up to the one that closed a think block
    tagged: bool = False  # the content held a think block
    first_at: float | None = None

    def add(self) -> None:
        if self.first_at is None:
            self.first_at = time.perf_counter()
        self.count += 1

    @property
    def thinking(self) -> int:
        return self.reasoning + (self.before_close if self.tagged else 0)


def _reasoning_tokens(usage: dict[str, Any], pieces: Pieces) -> int:
    """The server's own count when it gives one (OpenAI's usage details), else the
    thinking deltas, one per token as llama-server and vLLM stream them."""
    details = usage.get("completion_tokens_details")
    if isinstance(details, dict) and isinstance(details.get("reasoning_tokens"), int):
        return details["reasoning_tokens"]
    return pieces.thinking


def _prompt_cache(usage: dict[str, Any], timings: dict[str, Any],
                  prompt: int | None) -> tuple[int | None, int | None]:
    """(prompt tokens evaluated, prompt tokens a prefix cache spared), as far as the server
    says: llama-server's timings.prompt_n, or usage.prompt_tokens_details.cached_tokens
    (vLLM, OpenAI). None where it says nothing."""
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    evaluated = timings.get("prompt_n")
    if isinstance(evaluated, int) and isinstance(prompt, int):
        return evaluated, max(0, prompt - evaluated)
    if isinstance(cached, int) and isinstance(prompt, int):
        return prompt - cached, cached
    return None, None


def _positive(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None


def _error_detail(body: bytes) -> str:
    """The server's own message, short, from JSON error bodies or plain text."""
    text = body.decode("utf-8", errors="replace").strip()
    with contextlib.suppress(ValueError, AttributeError):
        data = json.loads(text)
        error = data.get("error", data) if isinstance(data, dict) else data
        if isinstance(error, dict):
            text = str(error.get("message") or error.get("detail") or error)
        elif isinstance(error, str):
            text = error
    text = " ".join(text.split())
    return text[:160] + ("…" if len(text) > 160 else "")


def _close_on_cancel(opened: list[socket.socket], cancel: threading.Event,
                     done: threading.Event) -> None:
    """Unblock a read waiting on the socket as soon as the user cancels."""
    while not done.is_set():
        if cancel.wait(0.05):
            for sock in list(opened):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return
