"""Thinking models: the thought apart from the answer, and honest figures, on every path.

The in-process path runs the real demo model, constrained by a grammar to think first
(tests/thinking_models.py); the server path runs the test server's thinking streams.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rbyf_tui import checks
from rbyf_tui.backends.base import ChatRequest
from rbyf_tui.backends.llama_cpp import LlamaSettings
from rbyf_tui.backends.openai_compat import OpenAIBackend, OpenAISettings
from rbyf_tui.catalog import Catalog, parse
from rbyf_tui.runner import Runner
from rbyf_tui.store import Store

from openai_server import serving
from thinking_models import OPENED, PLAIN, TAGGED, Constrained, make_thinker

RUBRIC = '[rubric]\n0 = "0"\n1 = "1"\n2 = "2"\n3 = "3"\n4 = "4"\n5 = "5"\n'


def catalog(prompt: str = "What is two plus two?", *, thinking: bool | None = None,
            checks: str = "", max_tokens: int = 80) -> Catalog:
    switch = "" if thinking is None else f"thinking = {str(thinking).lower()}\n"
    return parse(f'name = "think"\nversion = "1"\n\n[defaults]\nmax_tokens = {max_tokens}\n'
                 f'temperature = 0.7\nseed = 11\n{switch}\n{RUBRIC}\n[[tasks]]\nkey = "a"\n'
                 f'title = "A"\nprompt = "{prompt}"\n{checks}', "think.toml")


def stored(db: Path, gen_id: str) -> dict[str, Any]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("SELECT * FROM generations WHERE id = ?", [gen_id])
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))
    finally:
        con.close()


def run_one(db: Path, backend: Any, cat: Catalog) -> tuple[Runner, Any]:
    backend.load()
    runner = Runner.new_session(Store(db), backend, cat, settings={}, rater="tester",
                                origin="run")
    return runner, runner.run_task(cat.task("a"))


def assert_consistent(row: dict[str, Any]) -> None:
    """The figures' definitions (DESIGN.md, "Figures"), on what was stored."""
    assert 0 < row["ttft_s"] <= row["answer_ttft_s"] <= row["total_s"]
    # thinking lasts from the first token to the answer's first
    assert row["reasoning_s"] == pytest.approx(row["answer_ttft_s"] - row["ttft_s"], abs=1e-9)
    # decode speed counts every sampled token, thinking included, after the first
    assert row["decode_tps"] == pytest.approx(
        (row["completion_tokens"] - 1) / (row["total_s"] - row["ttft_s"]))
    assert row["prompt_tps"] == pytest.approx(row["prompt_eval_tokens"] / row["ttft_s"])


def tokens_until_the_thought_ends(backend: Constrained, cat: Catalog) -> tuple[int, int]:
    """(tokens up to and with the one that closes the thought, all tokens), sampled again
    by a plain llama-cpp-python loop with the same prompt, seed, sampling and grammar."""
    import llama_cpp

    request = ChatRequest.for_task(cat.task("a"))
    switch, _ = backend.thinking_switch(request.sampling.thinking)
    tokens, _, _ = backend._template([dict(m) for m in request.messages], switch)
    llm, s = backend._llm, request.sampling
    llm.reset()
    llm.set_seed(s.seed)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    text, closed_at, count = b"", None, 0
    for token in llm.generate(tokens, temp=s.temperature, repeat_penalty=s.repeat_penalty,
                              top_k=s.top_k, top_p=s.top_p, min_p=s.min_p):
        count += 1
        if llama_cpp.llama_vocab_is_eog(vocab, token) or count >= s.max_tokens:
            break
        text += llm.detokenize([token])
        if closed_at is None and b"</think>" in text:
            closed_at = count
    assert closed_at is not None, text
    return closed_at, count


@pytest.fixture(scope="module")
def thinker(demo_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_thinker(demo_model, tmp_path_factory.mktemp("thinker"))


@pytest.mark.model
def test_think_tags_from_the_model_go_apart_with_their_own_figures(
        tmp_path: Path, demo_model: Path) -> None:
    cat = catalog(checks='checks = { words = [1, 12] }\n')
    backend = Constrained(LlamaSettings(demo_model, n_ctx=1024, seed=11), TAGGED)
    _, outcome = run_one(tmp_path / "rbyf.duckdb", backend, cat)
    row = stored(tmp_path / "rbyf.duckdb", outcome.generation_id)
    assert outcome.status == "ok" and row["status"] == "ok"
    assert row["reasoning"] and row["response"]
    assert "<think>" not in row["response"] and "</think>" not in row["response"]
    assert "think>" not in row["reasoning"]
    assert row["response"] == outcome.response and row["reasoning"] == outcome.reasoning
    # the checks measure the answer only, never the thought
    task = cat.task("a")
    assert list(outcome.checks) == checks.run(task, row["response"])
    assert list(outcome.checks) != checks.run(task, row["reasoning"] + row["response"])
    assert_consistent(row)
    closed_at, total = tokens_until_the_thought_ends(backend, cat)
    assert (row["reasoning_tokens"], row["completion_tokens"]) == (closed_at, total)
    assert row["thinking"] is None  # the catalog did not ask
    backend.close()


@pytest.mark.model
def test_a_template_that_opens_think_gives_only_the_close(tmp_path: Path,
                                                         thinker: Path) -> None:
    backend = Constrained(LlamaSettings(thinker, n_ctx=1024, seed=11), OPENED)
    _, outcome = run_one(tmp_path / "rbyf.duckdb", backend, catalog())
    row = stored(tmp_path / "rbyf.duckdb", outcome.generation_id)
    assert backend.describe().chat_format == "chat_template.default"  # the GGUF's own
    assert row["reasoning"] and row["response"] and "think>" not in row["response"]
    assert 0 < row["reasoning_tokens"] < row["completion_tokens"]
    assert_consistent(row)
    backend.close()


@pytest.mark.model
def test_thinking_off_is_passed_to_a_template_that_takes_it(tmp_path: Path,
                                                            thinker: Path) -> None:
    backend = Constrained(LlamaSettings(thinker, n_ctx=1024, seed=11), PLAIN)
    runner, outcome = run_one(tmp_path / "rbyf.duckdb", backend, catalog(thinking=False))
    row = stored(tmp_path / "rbyf.duckdb", outcome.generation_id)
    request = ChatRequest.for_task(runner.catalog.task("a"))
    _, _, opens = backend._template([dict(m) for m in request.messages],
                                    {"enable_thinking": False})
    assert not opens  # the template closed the block before the answer
    assert (row["thinking"], row["reasoning"], row["reasoning_tokens"]) == ("off", None, 0)
    assert row["reasoning_s"] is None and row["answer_ttft_s"] == row["ttft_s"]
    assert json.loads(row["sampling"])["thinking"] is False  # recorded with the answer
    backend.close()


@pytest.mark.model
def test_a_template_that_cannot_switch_is_recorded_as_such(tmp_path: Path,
                                                           demo_model: Path) -> None:
    backend = Constrained(LlamaSettings(demo_model, n_ctx=1024, seed=11), PLAIN)
    _, outcome = run_one(tmp_path / "rbyf.duckdb", backend, catalog(thinking=True))
    assert stored(tmp_path / "rbyf.duckdb", outcome.generation_id)["thinking"] == \
        "unsupported"
    backend.close()


@pytest.mark.parametrize("mark", ["#think-deltas", "#reasoning-field", "#think-tags",
                                  "#harmony"])
def test_a_servers_thinking_in_every_form(tmp_path: Path, mark: str) -> None:
    with serving() as server:
        backend = OpenAIBackend(OpenAISettings(base_url=server.url, api_model="fake-model"))
        _, outcome = run_one(tmp_path / "rbyf.duckdb", backend, catalog(f"think {mark}"))
        body = server.bodies[-1]
    row = stored(tmp_path / "rbyf.duckdb", outcome.generation_id)
    assert row["response"].split() == [f"a{i}" for i in range(10)]
    assert row["reasoning"].split() == [f"t{i}" for i in range(50 if "deltas" in mark or
                                                                  "field" in mark else 48)]
    assert row["completion_tokens"] == 60 and row["reasoning_tokens"] == 50
    assert row["prompt_cached_tokens"] == 0 and row["prompt_eval_tokens"] == 11
    assert body["cache_prompt"] is False  # llama-server: every task from a cold prompt
    assert_consistent(row)
    # 60 tokens 10 ms apart: about 100 a second. Dividing all 60 by the answer's time only
    # (the old way) gave ~600.
    assert row["decode_tps"] < 150
    assert row["answer_ttft_s"] - row["ttft_s"] >= 0.45  # 50 thoughts 10 ms apart


def test_the_thinking_switch_reaches_a_server_and_is_recorded_as_sent(tmp_path: Path) -> None:
    with serving() as server:
        backend = OpenAIBackend(OpenAISettings(base_url=server.url, api_model="fake-model"))
        _, outcome = run_one(tmp_path / "rbyf.duckdb", backend, catalog(thinking=False))
        body = server.bodies[-1]
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert stored(tmp_path / "rbyf.duckdb", outcome.generation_id)["thinking"] == "sent"


def test_a_thought_cut_short_keeps_its_text_as_reasoning(tmp_path: Path) -> None:
    with serving() as server:
        backend = OpenAIBackend(OpenAISettings(base_url=server.url, api_model="fake-model"))
        backend.load()
        cat = catalog("think #think-tags")
        runner = Runner.new_session(Store(tmp_path / "rbyf.duckdb"), backend, cat,
                                    settings={}, rater="tester", origin="run")
        cancel, seen = threading.Event(), []

        def thought(text: str) -> None:  # stop mid-thought, as escape does
            seen.append(text)
            if len(seen) == 5:
                cancel.set()

        outcome = runner.run_task(cat.task("a"), cancel, on_reasoning=thought)
    row = stored(tmp_path / "rbyf.duckdb", outcome.generation_id)
    assert row["status"] == "cancelled" and row["response"] == ""
    assert row["reasoning"].split()[:5] == ["t0", "t1", "t2", "t3", "t4"]
    assert row["answer_ttft_s"] is None and row["reasoning_s"] > 0

