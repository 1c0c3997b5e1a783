"""Lines the HTML and Markdown reports share."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any

from rbyf_tui.answers import Answer
from rbyf_tui.comparison import file_size
from rbyf_tui.metrics import fmt
from rbyf_tui.ranking import MAX_SCORE
from rbyf_tui.report.data import CatalogReport, Report, SessionFacts

NO_TEXT = "(no answer text: e.g. imported from a CSV without its log)"


def made_line(report: Report) -> str:
    who = f"ratings and votes by {report.rater}" if report.rater else "every rater's ratings"
    return (f"Made by rbyf {report.rbyf_version} on {report.made_at:%Y-%m-%d %H:%M} UTC "
            f"from {who}.")


def versions_line(c: CatalogReport) -> str:
    versions = ", ".join(c.versions) if c.versions else "unknown"
    models = len(c.models)
    return (f"Catalog {c.catalog}, version {versions} · {len(c.tasks)} tasks answered · "
            f"{models} model{'s' if models != 1 else ''} · {len(c.sessions)} "
            f"session{'s' if len(c.sessions) != 1 else ''}")


def score_of(a: Answer) -> str:
    return "not rated" if a.score is None else f"{a.score}/{MAX_SCORE}"


def fact_groups(s: SessionFacts) -> list[tuple[str, dict[str, Any]]]:
    """A session's facts in named groups, the empty ones left out."""
    model = dict(s.model_facts)
    if "size_bytes" in model:
        model["size"] = file_size(model.pop("size_bytes"))
    settings = dict(s.settings)
    # A report is shared: a file's name tells the model, its folder only the user's home.
    for facts in (model, settings):
        for key in ("path", "model_path"):
            if isinstance(facts.get(key), str):
                facts[key] = PurePath(facts[key]).name
    groups = [("model", model), ("settings", settings), ("hardware", s.hardware)]
    return [(name, facts) for name, facts in groups if facts]


def plain(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def figures_text(a: Answer) -> str:
    """The answer's measured figures, those it has: imported runs lack most."""
    f = a.figures
    parts = []
    if f.get("ttft_s") is not None:
        parts.append(f"TTFT {fmt(f['ttft_s'], ' s', 2)}")
    if f.get("reasoning_s") is not None:
        parts.append(f"answer TTFT {fmt(f.get('answer_ttft_s'), ' s', 2)}")
    parts += [f"{label} {fmt(f[key], ' t/s')}" for key, label in
              (("prompt_tps", "prompt"), ("decode_tps", "decode"), ("e2e_tps", "e2e"))
              if f.get(key) is not None]
    if f.get("prompt_tokens") or f.get("completion_tokens"):
        parts.append(f"tokens {f.get('prompt_tokens') or 0} in / "
                     f"{f.get('completion_tokens') or 0} out")
    if f.get("completion_tiktoken"):
        parts.append(f"tiktoken {f.get('prompt_tiktoken') or 0} / {f['completion_tiktoken']}")
    if f.get("total_s") is not None:
        parts.append(f"total {fmt(f['total_s'], ' s', 2)}")
    if a.finish_reason:
        parts.append(f"finish {a.finish_reason}")
    return " · ".join(parts) or "no figures recorded"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|!])")


def md_inline(text: str) -> str:
    """Free text (a model's name, a remark, a title) as one line of Markdown that shows as
    written: no heading, emphasis, link, table cell break or live HTML comes of it."""
    flat = " ".join(text.splitlines())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))


def slug(text: str) -> str:
    """A catalog's or task's name as an id or file name part."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def unique_slugs(texts: Iterable[str]) -> list[str]:
    """slug() of each, numbered where two would be the same (catalogs `a.b` and `a-b`
    must not share an anchor or a chart file)."""
    seen: set[str] = set()
    out = []
    for text in texts:
        base = name = slug(text)
        n = 2
        while name in seen:
            name, n = f"{base}-{n}", n + 1
        seen.add(name)
        out.append(name)
    return out
