"""A whole catalog through `rbyf run --backend openai` against llama-cpp-python's real server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rbyf_tui.backends.base import ChatRequest
from rbyf_tui.backends.openai_compat import OpenAIBackend, OpenAISettings
from rbyf_tui.catalog import parse
from rbyf_tui.runner import Runner
from rbyf_tui.store import Store

from conftest import run_cli
from thinking_models import TAGGED

pytestmark = pytest.mark.model
KEY = "sk-rbyf-test-secret-4242"


@pytest.fixture(scope="module")
def server(demo_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(demo_model),
             "--chat_format", "gemma", "--n_ctx", "2048", "--host", "127.0.0.1",
             "--port", str(port), "--api_key", KEY],
            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    try:
        while True:
            try:
                req = urllib.request.Request(f"{url}/models",
                                             headers={"Authorization": f"Bearer {KEY}"})
                urllib.request.urlopen(req, timeout=2).read()
                break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_whole_catalog_through_the_server(server: str, rbyf_home: Path) -> None:
    db = rbyf_home / "remote.duckdb"
    result = run_cli("run", "--backend", "openai", "--base-url", server, "--max-tokens", "12",
                     "--db", str(db), home=rbyf_home, RBYF_API_KEY=KEY)
    assert result.returncode == 0, result.stderr
    assert KEY not in result.stdout + result.stderr
    con = duckdb.connect(str(db), read_only=True)
    gens = con.execute(
        "SELECT status, ttft_s, total_s, prompt_tokens, completion_tokens, prompt_tps, "
        "decode_tps, e2e_tps, tokens_estimated FROM generations").fetchall()
    model = con.execute("SELECT id, name, backend FROM models").fetchone()
    settings = json.loads(con.execute("SELECT settings FROM sessions").fetchone()[0])
    con.close()
    assert len(gens) == 15
    for status, ttft, total, ptoks, ctoks, ptps, dtps, etps, estimated in gens:
        assert status == "ok"
        assert ttft > 0 and total > ttft and ptoks > 0 and 0 < ctoks <= 12
        assert ptps > 0 and dtps > 0 and etps > 0
        assert estimated  # this server sends no usage in streams
    assert model[0] == f"openai:{server}#{settings['api_model']}" and model[2] == "openai"
    assert settings["base_url"] == server
    # The key is nowhere in the DB file or in rbyf's logs.
    assert KEY.encode() not in db.read_bytes()
    for path in (rbyf_home / "logs").glob("*"):
        assert KEY not in path.read_text(encoding="utf-8", errors="replace")


def test_a_wrong_key_stops_before_a_session(server: str, rbyf_home: Path) -> None:
    result = run_cli("run", "--backend", "openai", "--base-url", server, home=rbyf_home,
                     RBYF_API_KEY="sk-not-the-key-7731")
    assert result.returncode == 1
    assert "refused the API key (401)" in result.stderr
    assert "sk-not-the-key-7731" not in result.stderr + result.stdout
    listed = run_cli("sessions", "--failures", "--json", home=rbyf_home)
    (failure,) = json.loads(listed.stdout)  # stored, and the key is not
    assert (failure["backend"], failure["model"]) == ("openai", f"the served model at {server}")
    assert "401" in failure["error"] and "sk-not-the-key-7731" not in listed.stdout


class GrammarBackend(OpenAIBackend):
    """The real HTTP backend; its requests also carry a GBNF grammar, which
    llama-cpp-python's server applies, so the demo model thinks in <think> tags."""

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        return {**super()._body(request), "grammar": TAGGED}


def test_think_tags_from_a_real_server_go_apart(server: str, tmp_path: Path) -> None:
    cat = parse('name = "think"\nversion = "1"\n[defaults]\nmax_tokens = 80\nseed = 5\n'
                '[rubric]\n0 = "0"\n1 = "1"\n2 = "2"\n3 = "3"\n4 = "4"\n5 = "5"\n'
                '[[tasks]]\nkey = "a"\nprompt = "What is two plus two?"\n', "think.toml")
    backend = GrammarBackend(OpenAISettings(base_url=server, api_key=KEY))
    backend.load()
    runner = Runner.new_session(Store(tmp_path / "rbyf.duckdb"), backend, cat, settings={},
                                rater="tester", origin="run")
    outcome = runner.run_task(cat.task("a"))
    assert outcome.status == "ok", outcome.error
    assert outcome.reasoning and outcome.response
    assert "think>" not in outcome.reasoning + outcome.response
    f = outcome.figures
    assert 0 < f.ttft_s < f.answer_ttft_s < f.total_s and f.reasoning_s > 0
    assert 0 < (f.reasoning_tokens or 0) < (f.completion_tokens or 0)
