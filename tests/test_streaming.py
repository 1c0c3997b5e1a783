"""Stop strings are cut before they reach the screen or the store."""

from __future__ import annotations

from rbyf_tui.backends.streaming import split_at_stop


def test_no_stops_passes_everything() -> None:
    assert split_at_stop("abc", []) == ("abc", "", False)


def test_a_possible_stop_prefix_is_held_back() -> None:
    assert split_at_stop("hello <end", ["<end_of_turn>"]) == ("hello ", "<end", False)
    assert split_at_stop("hello <", ["<end_of_turn>"]) == ("hello ", "<", False)


def test_a_stop_cuts_the_text_and_ends() -> None:
    assert split_at_stop("hi<end_of_turn>\nmore", ["<end_of_turn>"]) == ("hi", "", True)
    assert split_at_stop("a STOP b END", ["END", "STOP"]) == ("a ", "", True)


def test_text_that_only_looks_like_a_prefix_is_released() -> None:
    assert split_at_stop("<b>", ["<end>"]) == ("<b>", "", False)
