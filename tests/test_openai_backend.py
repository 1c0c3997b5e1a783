"""The OpenAI-compatible backend against real HTTP: a misbehaving test server and each failure."""

from __future__ import annotations

import queue
import socket
import threading
import time
from pathlib import Path

import duckdb
import pytest

from rbyf_tui.backends.base import ChatRequest, StreamEnd
from rbyf_tui.backends.openai_compat import OpenAIBackend, OpenAISettings
from rbyf_tui.catalog import parse
from rbyf_tui.errors import BackendError, ModelError
from rbyf_tui.store import Store

from conftest import assert_one_line_error, run_cli
from openai_server import FakeServer, serving

CATALOG = '''name = "http-faults"
version = "1"

[defaults]
max_tokens = 64

[rubric]
0 = "0"
1 = "1"
2 = "2"
3 = "3"
4 = "4"
5 = "5"

[[tasks]]
key = "ok"
prompt = "plain"

[[tasks]]
key = "cut"
prompt = "please #cut"

[[tasks]]
key = "malformed"
prompt = "please #malformed"

[[tasks]]
key = "e500"
prompt = "please #500"

[[tasks]]
key = "stall"
prompt = "please #stall"

[[tasks]]
key = "error-event"
prompt = "please #error-event"

[[tasks]]
key = "after"
prompt = "plain again"
'''


def request(prompt: str, max_tokens: int = 64) -> ChatRequest:
    cat = parse(CATALOG.replace('prompt = "plain"', f'prompt = "{prompt}"'), "t.toml")
    return ChatRequest.for_task(cat.task("ok"), max_tokens=max_tokens)


def collect(backend: OpenAIBackend, req: ChatRequest,
            cancel: threading.Event | None = None) -> tuple[str, StreamEnd]:
    text, end = "", None
    for item in backend.stream(req, cancel or threading.Event()):
        if isinstance(item, str):
            text += item
        else:
            end = item
    assert end is not None
    return text, end


def backend_for(server: FakeServer, model: str | None = "fake-model", timeout_s: float = 10,
                **kwargs: object) -> OpenAIBackend:
    """A backend on the fake server; waits for a byte `timeout_s` (short only where a test
    means it to run out: a busy machine can stall a thread for half a second)."""
    settings = OpenAISettings(base_url=server.url, api_model=model, backoff_s=0.05,
                              idle_timeout_s=timeout_s, first_byte_timeout_s=timeout_s,
                              **kwargs)  # type: ignore[arg-type]
    backend = OpenAIBackend(settings)
    backend.load()
    return backend


def test_a_stream_with_usage_and_timings() -> None:
    with serving() as server:
        backend = backend_for(server)
        info = backend.describe()
        assert info.key == f"openai:{server.url}#fake-model"
        assert info.n_ctx_train == 4096
        text, end = collect(backend, request("hi", max_tokens=64))
        assert text == "Hello from the fake server."
        assert (end.finish_reason, end.prompt_tokens, end.completion_tokens) == ("stop", 11, 7)
        assert not end.tokens_estimated
        assert (end.engine_prompt_tps, end.engine_decode_tps) == (480.5, 95.25)
        body = server.bodies[-1]
        assert body["stream"] and body["stream_options"] == {"include_usage": True}
        assert body["max_tokens"] == 64 and "repeat_penalty" in body and "top_k" in body


def test_without_usage_counts_are_estimated() -> None:
    with serving(send_usage=False) as server:
        text, end = collect(backend_for(server), request("hi", max_tokens=3))
        assert text == "Hello from the"
        assert end.finish_reason == "length"
        assert end.tokens_estimated and end.completion_tokens == 3 and end.prompt_tokens


def test_the_only_served_model_is_picked_or_a_choice_is_asked() -> None:
    with serving() as server:
        with pytest.raises(ModelError, match=r"serves 2 models .*--api-model"):
            backend_for(server, model=None)
        with pytest.raises(ModelError, match="does not serve 'nope': it serves fake-model"):
            backend_for(server, model="nope")


@pytest.mark.parametrize(("prompt", "message", "partial"), [
    ("#cut", "closed the stream mid-answer", "Hello from"),
    ("#malformed", "sent a malformed event", "Hello from"),
    ("#error-event", "reported an error mid-answer: out of memory", "Hello from"),
    ("#stall", "sent nothing for 0.5 s while waiting for the next token", "Hello from"),
    ("#500", "failed with 500: the GPU caught fire", ""),
])
def test_each_failure_is_one_line_and_keeps_the_partial_text(prompt: str, message: str,
                                                             partial: str) -> None:
    with serving(pause_s=2.0) as server:
        backend = backend_for(server, timeout_s=0.5)
        seen: list[str] = []
        with pytest.raises(BackendError) as info:
            for item in backend.stream(request(prompt), threading.Event()):
                if isinstance(item, str):
                    seen.append(item)
        assert message in str(info.value)
        assert "\n" not in str(info.value)
        assert "".join(seen) == partial


def test_a_slow_first_byte_times_out() -> None:
    with serving(pause_s=2.0) as server, pytest.raises(BackendError, match="sent nothing"):
        collect(backend_for(server, timeout_s=0.5), request("#slowfirst"))


def test_a_wrong_key_and_an_unknown_model() -> None:
    with serving() as server:
        locked = backend_for(server, model="locked", api_key="bad-key")
        with pytest.raises(BackendError, match=r"refused the API key \(401\).*RBYF_API_KEY"):
            collect(locked, request("hi"))
        assert "bad-key" not in str(locked.describe())
        good = backend_for(server, model="locked", api_key="good-key")
        assert collect(good, request("hi"))[0].startswith("Hello")
        gone = backend_for(server)
        gone._model_id = "vanished"  # the server stopped serving it after the session began
        with pytest.raises(BackendError, match=r"has no model 'vanished'.*404"):
            collect(gone, request("hi"))


def test_cancel_interrupts_a_waiting_read() -> None:
    with serving(pause_s=60.0) as server:  # the server says nothing for a minute
        backend = backend_for(server)
        backend.settings = OpenAISettings(base_url=server.url, api_model="fake-model",
                                          idle_timeout_s=120, first_byte_timeout_s=120)
        cancel = threading.Event()
        started = time.monotonic()
        text, end = "", None
        for item in backend.stream(request("#stall"), cancel):
            if not isinstance(item, str):
                end = item
                continue
            text += item
            if text == "Hello from":  # the server now stalls: cancel once the read waits
                threading.Timer(0.3, cancel.set).start()
        assert end is not None and end.finish_reason == "cancelled" and text == "Hello from"
        # Ended by the cancel, long before the server would have said more.
        assert time.monotonic() - started < 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_retried_with_backoff() -> None:
    port = free_port()
    settings = OpenAISettings(base_url=f"http://127.0.0.1:{port}/v1", api_model="fake-model",
                              retries=4, backoff_s=0.2)
    started: queue.Queue[FakeServer | OSError] = queue.Queue()

    def start_late() -> None:
        try:
            server = FakeServer(port=port)
        except OSError as exc:  # someone else took the free port meanwhile
            started.put(exc)
            return
        started.put(server)
        server.serve_forever()

    threading.Timer(0.3, start_late).start()
    try:
        backend = OpenAIBackend(settings)
        assert backend.load().name == "fake-model"  # refused at first, then served
    finally:
        server = started.get(timeout=60)
        if isinstance(server, OSError):  # the failure above is this one's doing
            raise AssertionError(f"the late server could not start on port {port}: {server}")
        server.shutdown()
        server.server_close()


def test_unreachable_servers_fail_in_one_line_before_a_session(rbyf_home: Path) -> None:
    port = free_port()
    for url, message in [(f"http://127.0.0.1:{port}/v1", "connection refused by"),
                         ("http://nonexistent.invalid/v1", "cannot resolve the host")]:
        result = run_cli("run", "--backend", "openai", "--base-url", url, home=rbyf_home)
        assert message in assert_one_line_error(result)
    assert Store(rbyf_home / "rbyf.duckdb").sessions() == []  # no session full of errors


def test_a_session_goes_on_past_every_failure(rbyf_home: Path, tmp_path: Path) -> None:
    catalog = tmp_path / "faults.toml"
    catalog.write_text(CATALOG, encoding="utf-8")
    db = tmp_path / "faults.duckdb"
    with serving(pause_s=3.0) as server:
        result = run_cli("run", "--backend", "openai", "--base-url", server.url,
                         "--api-model", "locked", "--catalog", str(catalog), "--db", str(db),
                         "--token-timeout", "1", home=rbyf_home, RBYF_API_KEY="good-key")
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(db), read_only=True)
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT task_key, status, response, error, completion_tokens, engine_decode_tps "
        "FROM generations").fetchall()}
    con.close()
    assert rows["ok"][0] == "ok" and rows["ok"][1] == "Hello from the fake server."
    assert rows["ok"][3] == 7 and rows["ok"][4] == 95.25
    for key, message in [("cut", "mid-answer"), ("malformed", "malformed event"),
                         ("e500", "failed with 500"), ("stall", "sent nothing for 1 s"),
                         ("error-event", "out of memory")]:
        status, response, error = rows[key][:3]
        assert status == "error" and message in error, (key, error)
        if key != "e500":
            assert response == "Hello from"  # the partial text is kept
    assert rows["after"][0] == "ok"
    assert "good-key" not in db.read_bytes().decode("latin-1")
