"""The figures are defined once; these pin their definitions."""

from __future__ import annotations

import pytest

from rbyf_tui.metrics import Figures, fmt, rates, tiktoken_count


def test_rates_follow_the_design_definitions() -> None:
    r = rates(ttft_s=0.5, total_s=2.5, prompt_tokens=400, completion_tokens=101)
    assert r.prompt_tps == pytest.approx(800.0)
    assert r.decode_tps == pytest.approx(100 / 2.0)
    assert r.e2e_tps == pytest.approx(101 / 2.5)


def test_decode_needs_two_tokens_and_time_after_the_first() -> None:
    assert rates(0.5, 0.9, 10, 1).decode_tps is None
    assert rates(0.5, 0.5, 10, 5).decode_tps is None
    untimed = rates(None, 1.0, 10, 5)  # no first-token time: only the end-to-end rate
    assert (untimed.prompt_tps, untimed.decode_tps, untimed.e2e_tps) == (None, None, 5.0)
    nothing = rates(None, 1.0, 10, 0)
    assert (nothing.prompt_tps, nothing.decode_tps, nothing.e2e_tps) == (None, None, None)


def test_tiktoken_counts_offline_with_cl100k() -> None:
    assert tiktoken_count("") == 0
    assert tiktoken_count("hello world") == 2
    # Special-token text is counted as plain text, never rejected.
    assert tiktoken_count("<|endoftext|>") > 1
    assert tiktoken_count("生鱼片是死鱼片吗") > 0


def test_figures_compute_fills_every_column() -> None:
    f = Figures.compute(ttft_s=0.25, total_s=1.25, prompt_tokens=50, completion_tokens=21,
                        engine_prompt_tps=210.0, engine_decode_tps=22.0,
                        prompt_text="hello world", completion_text="hi")
    assert f.prompt_tps == pytest.approx(200.0)
    assert f.decode_tps == pytest.approx(20.0)
    assert (f.prompt_tiktoken, f.completion_tiktoken) == (2, 1)
    assert f.engine_decode_tps == 22.0


def test_fmt_marks_missing_figures() -> None:
    assert fmt(None) == "–"
    assert fmt(12.345, " t/s") == "12.3 t/s"
