"""`rbyf models`: every model on this machine, with its header's facts and what rbyf knows."""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
from datetime import datetime
from typing import Any

from rbyf_tui import discovery, model_places
from rbyf_tui.commands.common import cell_width, fit, open_store, print_json
from rbyf_tui.discovery import FoundModel
from rbyf_tui.errors import StoreError

HEADERS = ("name", "source", "arch", "params", "quant", "ctx", "tmpl", "size", "sess", "mean",
           "used")
RIGHT = {"params", "ctx", "size", "sess", "mean", "used"}
CAPS = {"source": 8, "arch": 8, "quant": 9}  # wider values are cut
MIN_WIDTH = 80


def main(args: argparse.Namespace) -> int:
    try:
        models = discovery.find_models(open_store(args, read_only=True))
    except StoreError as exc:  # the files are still worth listing
        print(f"rbyf: {exc} (sessions and scores left out)", file=sys.stderr)
        models = discovery.find_models()
    wanted = " ".join(args.filter)
    shown = discovery.sort_models([m for m in models if discovery.matches(m, wanted)],
                                  args.sort)
    if args.json:
        print_json([as_json(m) for m in shown])
    elif not models:
        print(f"no models found in {', '.join(model_places.places())}: list your model "
              f"folders in {model_places.folders_file()} (folders = [\"~/models\"]) or "
              "$RBYF_MODELS, or get one with rbyf pull REPO")
    elif not shown:
        print(f"no model matches '{wanted}' ({len(models)} found): try fewer words")
    else:
        print(render([cells(m) for m in shown],
                     max(MIN_WIDTH, shutil.get_terminal_size((MIN_WIDTH, 24)).columns)))
    return 0


def as_json(model: FoundModel) -> dict[str, Any]:
    facts = dataclasses.asdict(model.facts)
    facts["general_name"] = facts.pop("name")
    return {
        "name": model.name, "source": model.source, "path": str(model.path),
        "size_bytes": model.size_bytes, "shards": model.shards, **facts,
        "sessions": model.sessions, "mean_score": model.mean_score,
        "last_used": model.last_used.isoformat() if model.last_used else None,
    }


def cells(model: FoundModel) -> dict[str, str]:
    facts = model.facts
    return {
        "name": model.name, "source": model.source, "arch": facts.architecture or "?",
        "params": discovery.parameter_count(facts.parameters) or "?",
        "quant": facts.quantization or "?",
        "ctx": discovery.context_length(facts.context_length) or "?",
        "tmpl": "yes" if facts.chat_template else "no",
        "size": size(model.size_bytes), "sess": str(model.sessions or ""),
        "mean": f"{model.mean_score:.2f}" if model.mean_score is not None else "",
        "used": age(model.last_used),
    }


def size(n: int) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    return f"{n}B"


def age(when: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in 5 columns at most: today, 3d, 5w, 4mo, 2y."""
    if when is None:
        return ""
    days = ((now or datetime.now(when.tzinfo)) - when).days
    if days < 1:
        return "today"
    if days < 14:
        return f"{days}d"
    if days < 60:
        return f"{days // 7}w"
    return f"{days // 30}mo" if days < 730 else f"{days // 365}y"


def squeeze(text: str, width: int) -> str:
    """The text in `width` columns, its middle cut when too long (names end with their
    quantization, which tells models apart)."""
    if cell_width(text) <= width:
        return text
    head = max(1, (width - 1) * 2 // 5)
    tail = width - 1 - head
    end = "".join(reversed(fit("".join(reversed(text)), tail).rstrip()))
    return fit(text, head).rstrip() + "…" + end


def render(rows: list[dict[str, str]], width: int = MIN_WIDTH) -> str:
    """An aligned table in `width` columns: the name takes what the others leave."""
    widths = {h: min(max([len(h)] + [cell_width(r[h]) for r in rows]), CAPS.get(h, 99))
              for h in HEADERS[1:]}
    room = width - sum(widths.values()) - (len(HEADERS) - 1)
    widths["name"] = max(8, min(room, max([4] + [cell_width(r["name"]) for r in rows])))
    lines = []
    for row in [dict(zip(HEADERS, HEADERS, strict=True)), *rows]:
        parts = []
        for h in HEADERS:
            text = squeeze(row[h], widths[h]) if h == "name" else fit(row[h], widths[h])
            text = text.rstrip()
            pad = " " * (widths[h] - cell_width(text))
            parts.append(pad + text if h in RIGHT else text + pad)
        lines.append(" ".join(parts).rstrip())
    return "\n".join(lines)
