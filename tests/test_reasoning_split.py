"""Thinking told apart from the answer, whichever way the text is cut into tokens."""

from __future__ import annotations

import random

import pytest

from rbyf_tui.backends.reasoning import Reasoning, ThoughtSplitter, template_opens_think


def split(pieces: list[str], *, starts_inside: bool = False) -> tuple[str, str, bool]:
    """(reasoning, answer, closed) after feeding the pieces one by one."""
    splitter = ThoughtSplitter(starts_inside=starts_inside)
    out = []
    for piece in pieces:
        out += splitter.feed(piece)
    out += splitter.finish()
    reasoning = "".join(p.text for p in out if isinstance(p, Reasoning))
    answer = "".join(p for p in out if isinstance(p, str))
    return reasoning, answer, splitter.closed


def cuts(text: str, seed: int) -> list[str]:
    """The text in random pieces of 1 to 5 characters (tags split across tokens)."""
    rng = random.Random(seed)
    pieces, at = [], 0
    while at < len(text):
        size = rng.randint(1, 5)
        pieces.append(text[at:at + size])
        at += size
    return pieces


CASES = [
    # (output, template opened <think>, reasoning, answer, closed)
    ("<think>Let me count: 2+2.</think>\n\nIt is 4.", False, "Let me count: 2+2.", "It is 4.",
     True),
    ("\n<think>\nhm\n</think>\nFour.", False, "\nhm\n", "Four.", True),
    ("The tag <think> is HTML-like.", False, "", "The tag <think> is HTML-like.", False),
    ("  Plain answer, no thinking.", False, "", "  Plain answer, no thinking.", False),
    ("weighing it up</think>Yes.", True, "weighing it up", "Yes.", True),
    ("<think>never closed, cut by max_tokens", False, "never closed, cut by max_tokens", "",
     False),
    ("<|channel|>analysis<|message|>User asks 2+2.<|end|><|start|>assistant<|channel|>final"
     "<|message|>4<|return|>", False, "User asks 2+2.", "4", True),
    ("<|start|>assistant<|channel|>final<|message|>Only a final.", False, "", "Only a final.",
     False),
    ("<thin", False, "", "<thin", False),  # looked like a tag, but the output ended
    ("<|channel|>analysis<|message|>cut short<|end|><|sta", False, "cut short", "", False),
    ("", False, "", "", False),
]


@pytest.mark.parametrize(("text", "inside", "reasoning", "answer", "closed"), CASES)
def test_reasoning_and_answer_apart_in_one_piece_and_token_by_token(
        text: str, inside: bool, reasoning: str, answer: str, closed: bool) -> None:
    assert split([text], starts_inside=inside) == (reasoning, answer, closed)
    assert split(list(text), starts_inside=inside) == (reasoning, answer, closed)
    for seed in range(20):
        assert split(cuts(text, seed), starts_inside=inside) == (reasoning, answer, closed)


def test_pieces_come_as_soon_as_they_cannot_be_a_tag() -> None:
    splitter = ThoughtSplitter()
    assert splitter.feed("<thi") == []  # may still become <think>
    assert splitter.feed("nk>step one") == [Reasoning("step one")]
    assert splitter.feed(" and two</th") == [Reasoning(" and two")]  # </th held
    assert splitter.feed("ink>\n") == []  # whitespace before the answer is dropped
    assert splitter.feed("Done") == ["Done"]
    assert splitter.finish() == []


def test_a_template_that_opens_think_is_recognised() -> None:
    assert template_opens_think("<|im_start|>assistant\n<think>\n")
    assert not template_opens_think("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert not template_opens_think("<start_of_turn>model\n")
