"""Model facts as short words for narrow columns: 268M parameters, 32K context, 253 MB."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

from rbyf_tui.comparison import file_size
from rbyf_tui.discovery import FoundModel
from rbyf_tui.discovery import context_length as context
from rbyf_tui.discovery import parameter_count as count


def size(n: int | None) -> str:
    return file_size(n) or ""


def day(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d") if when else ""


def score(mean: float | None) -> str:
    return "" if mean is None else f"{mean:.2f}"


def short_name(model: FoundModel) -> str:
    """For a narrow list: the file's own name, without its quantization (a column of its
    own) nor the repo or publisher in front."""
    name = model.name.rsplit("/", 1)[-1]
    quant = model.facts.quantization
    if quant and ":" not in name:  # an Ollama tag says what the user typed: keep it
        name = re.sub(rf"[-._]{re.escape(quant)}$", "", name, flags=re.IGNORECASE) or name
    return name


def where(path: Path | str) -> str:
    """A path as the user would type it: ~ for the home folder."""
    text = str(path)
    home = os.path.expanduser("~")
    return "~" + text[len(home):] if home != "~" and text.startswith(home + os.sep) else text


def facts_line(model: FoundModel) -> str:
    """Every fact in one line, for the model under the cursor."""
    f = model.facts
    parts = [model.source, f.architecture or "", count(f.parameters) and
             f"{count(f.parameters)} params", f.quantization or "",
             context(f.context_length) and f"{context(f.context_length)} context",
             "chat template" if f.chat_template else "no chat template", size(model.size_bytes),
             f"{model.shards} files" if model.shards > 1 else ""]
    if model.sessions:
        parts.append(f"{model.sessions} session{'s' * (model.sessions != 1)}")
    if model.mean_score is not None:
        parts.append(f"mean {score(model.mean_score)}")
    if model.last_used:
        parts.append(f"used {day(model.last_used)}")
    return " · ".join(p for p in parts if p)
