"""Thinking kept apart from the answer, as a model's text streams in.

Models write their reasoning in one of these forms, which `ThoughtSplitter` tells apart
on the fly, piece by piece (a tag may be split across tokens):

- `<think>` … `</think>` at the start of the output, then the answer;
- only `</think>`: the chat template opened `<think>` in the prompt (`starts_inside`);
- harmony channels (gpt-oss): `<|channel|>analysis<|message|>` … `<|end|>`, then
  `<|start|>assistant<|channel|>final<|message|>` … (analysis and commentary are
  reasoning, final is the answer; the other markers are dropped).

A `<think>` later in an answer is the answer's own text (a model explaining tags), and an
unclosed think block keeps its text as reasoning. Servers that send reasoning as separate
deltas (`reasoning_content`, `reasoning`) need no splitting: see openai_compat.py.
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN, CLOSE = "<think>", "</think>"
HARMONY_STARTS = ("<|channel|>", "<|start|>")
HARMONY_REASONING = ("analysis", "commentary")


@dataclass(frozen=True)
class Reasoning:
    """A piece of the model's thinking (answer pieces are plain `str`)."""

    text: str


Piece = str | Reasoning


def template_opens_think(prompt_text: str) -> bool:
    """The templated prompt ends inside a think block: the output starts as reasoning."""
    tail = prompt_text.rstrip()
    return tail.endswith(OPEN)


def _partial_suffix(text: str, marker: str) -> int:
    """How many characters at the end of `text` could be the start of `marker`."""
    for size in range(min(len(marker) - 1, len(text)), 0, -1):
        if marker.startswith(text[-size:]):
            return size
    return 0


class ThoughtSplitter:
    """Feed text as it comes; get back answer (`str`) and `Reasoning` pieces, in order."""

    def __init__(self, *, starts_inside: bool = False) -> None:
        self.mode = "think" if starts_inside else "start"  # start | think | answer | harmony
        self._held = ""  # text that may still turn out to be (part of) a marker
        self._after_close = False  # drop the whitespace between </think> and the answer
        self._channel = "final"  # harmony: the channel being written
        self.thought = starts_inside  # some reasoning was seen (or the template opened it)
        self.closed = False  # the think block ended (so the answer has begun)

    def feed(self, text: str) -> list[Piece]:
        out: list[Piece] = []
        self._held += text
        while self._held:
            before = (self.mode, len(self._held))
            getattr(self, f"_{self.mode}")(out)
            if (self.mode, len(self._held)) == before:
                break  # waiting for more text
        return out

    def finish(self) -> list[Piece]:
        """The end of the output: whatever is held is what it looked like."""
        held, self._held = self._held, ""
        if self.mode == "harmony" and held.startswith("<|"):
            return []  # an unfinished marker
        if self.mode == "think" or (self.mode == "harmony"
                                    and self._channel in HARMONY_REASONING):
            return [Reasoning(held)] if held else []  # an unclosed block keeps its text
        if self._after_close:
            held = held.lstrip()
        return [held] if held else []

    # --- the modes: each consumes what it can of _held --------------------------------

    def _start(self, out: list[Piece]) -> None:
        stripped = self._held.lstrip()
        if not stripped:
            return  # only whitespace so far
        if stripped.startswith(OPEN):
            self._held = stripped[len(OPEN):]
            self.mode, self.thought = "think", True
            return
        if stripped.startswith(HARMONY_STARTS):
            self._held = stripped
            self.mode = "harmony"
            return
        if any(m.startswith(stripped) for m in (OPEN, *HARMONY_STARTS)):
            return  # may still become a marker
        self.mode = "answer"

    def _think(self, out: list[Piece]) -> None:
        at = self._held.find(CLOSE)
        if at >= 0:
            if at:
                out.append(Reasoning(self._held[:at]))
            self._held = self._held[at + len(CLOSE):]
            self.mode, self.closed, self._after_close = "answer", True, True
            return
        keep = _partial_suffix(self._held, CLOSE)
        if len(self._held) > keep:
            out.append(Reasoning(self._held[:len(self._held) - keep]))
            self._held = self._held[len(self._held) - keep:]

    def _answer(self, out: list[Piece]) -> None:
        text, self._held = self._held, ""
        if self._after_close:
            text = text.lstrip()
            if not text:
                return
            self._after_close = False
        out.append(text)

    def _harmony(self, out: list[Piece]) -> None:
        held = self._held
        at = held.find("<|")
        if at < 0:
            keep = 1 if held.endswith("<") else 0
            self._emit(out, held[:len(held) - keep])
            self._held = held[len(held) - keep:]
            return
        if at:
            self._emit(out, held[:at])
            self._held = held = held[at:]
        end = held.find("|>")
        if end < 0:
            return  # a marker not yet whole
        marker, rest = held[2:end], held[end + 2:]
        if marker == "channel":
            stop = rest.find("<|")
            if stop < 0:
                return  # the channel's name not yet whole
            self._channel = rest[:stop].split()[0] if rest[:stop].split() else "final"
            if self._channel in HARMONY_REASONING:
                self.thought = True
            else:
                self.closed = self.closed or self.thought
            rest = rest[stop:]
        elif marker == "start":  # a role name follows, up to the next marker
            stop = rest.find("<|")
            if stop < 0:
                return
            rest = rest[stop:]
        self._held = rest  # <|message|>, <|end|>, <|return|>, ... are dropped

    def _emit(self, out: list[Piece], text: str) -> None:
        if not text:
            return
        if self._channel in HARMONY_REASONING:
            out.append(Reasoning(text))
        else:
            out.append(text)
