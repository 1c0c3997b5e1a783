"""How the leaderboard's screens show things: a score as a coloured block, a name cut to
fit, an answer's figures on one line, its remarks and checks."""

from __future__ import annotations

import re

from rich.text import Text

from rbyf_tui.answers import Answer
from rbyf_tui.metrics import fmt
from rbyf_tui.tui.widgets.stats import checks_text

# Red (0) to green (5) behind a dark or light digit: the digit carries the score, so it
# stays readable with 256 colours and under NO_COLOR.
SCORE_STYLES = {
    0: "bold #ffffff on #a50026",
    1: "bold #ffffff on #d73027",
    2: "bold #000000 on #fc8d59",
    3: "bold #000000 on #fee08b",
    4: "bold #000000 on #91cf60",
    5: "bold #000000 on #1a9850",
}


def score_text(score: int | None, pad: int = 1) -> Text:
    """A score as a coloured block; '·' when there is none."""
    space = " " * pad
    if score is None:
        return Text(f"{space}·{space}", style="dim")
    return Text(f"{space}{score}{space}", style=SCORE_STYLES.get(score, ""))


def append_remarks(text: Text, answer: Answer) -> None:
    """The remarks, then the catalog's automatic checks (hints beside the score)."""
    text.append("\nremarks: ")
    text.append(answer.remarks or "(none)", style="" if answer.remarks else "dim")
    if answer.checks:
        text.append("\n")
        text.append_text(checks_text(list(answer.checks)))


# "-instruct", "-it", "-chat": the part of a model name that tells the least apart.
_FILLER = re.compile(r"[-_.](instruct|it|chat)(?=[-_.]|$)", re.IGNORECASE)


def shorten(name: str, width: int) -> str:
    """A name cut to `width`: first its "-instruct" part becomes "…", then its middle, so
    size and quantization both show (the full name is shown elsewhere on the screen)."""
    if len(name) <= width:
        return name
    if width <= 1:
        return name[:width]
    stripped = _FILLER.sub("…", name, count=1)
    if len(stripped) <= width:
        return stripped
    if "…" in stripped:  # cut more before the "…", so the quantization after it stays
        head, tail = stripped.split("…", 1)
        keep = len(head) - (len(stripped) - width)
        if keep >= 4:
            return head[:keep] + "…" + tail
    head = (width - 1) * 3 // 5
    tail = width - 1 - head
    return name[:head] + "…" + (name[-tail:] if tail else "")


def figures_line(figures: dict[str, object]) -> str:
    """One answer's figures on one line; those it lacks (imported runs) are left out."""

    def value(key: str) -> float | None:
        number = figures.get(key)
        return float(number) if isinstance(number, int | float) else None

    parts = []
    for key, label, unit, digits in (("ttft_s", "TTFT", " s", 2),
                                     ("prompt_tps", "prompt", " t/s", 1),
                                     ("decode_tps", "decode", " t/s", 1),
                                     ("e2e_tps", "e2e", " t/s", 1),
                                     ("total_s", "total", " s", 1)):
        if (number := value(key)) is not None:
            parts.append(f"{label} {fmt(number, unit, digits)}")
    first, answer_first = value("ttft_s"), value("answer_ttft_s")
    if first is not None and answer_first is not None and answer_first > first:
        parts.insert(1, f"answer {fmt(answer_first, ' s', 2)}")  # after its thinking
    prompt, answer = value("prompt_tokens"), value("completion_tokens")
    if prompt is not None or answer is not None:
        parts.append(f"tokens {fmt(prompt, '', 0)} in, {fmt(answer, '', 0)} out")
    return " · ".join(parts) or "no figures recorded"


def prompt_line(prompt: str, width: int, more: str = "") -> str:
    """A prompt on at most two lines of `width`, cut at a word ("…" and `more` after it)."""
    prompt = " ".join(prompt.split())
    room = 2 * (width - 2) - 12 - len(more)  # less what wrapping may waste
    if len(prompt) > room:
        prompt = prompt[:room].rsplit(" ", 1)[0] + " …" + more
    return f"prompt: {prompt or '–'}"
