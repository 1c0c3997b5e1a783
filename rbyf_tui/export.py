"""Exports: csv, the old scripts' seed-csv, jsonl, parquet, and a readable md transcript."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rbyf_tui.catalog import Catalog
from rbyf_tui.checks import CheckResult
from rbyf_tui.checks import from_json as checks_from_json
from rbyf_tui.metrics import fmt, thinking_line

FORMATS = ("csv", "seed-csv", "jsonl", "parquet", "md")
SEED_COLUMNS = ["#", "TASK", "VOTE", "REMARKS"]
JSON_COLUMNS = ("sampling", "checks", "extra")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _row_for_json(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: _plain(v) for k, v in row.items()}
    for key in JSON_COLUMNS:
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: _plain(v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def to_jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(_row_for_json(row), ensure_ascii=False) + "\n" for row in rows)


def votes_to_jsonl(votes: list[dict[str, Any]]) -> str:
    """Votes as jsonl records beside the answers' ones, told apart by "kind": "vote"."""
    return to_jsonl([{"kind": "vote", **vote} for vote in votes])


def votes_to_markdown(votes: list[dict[str, Any]]) -> str:
    """The votes as a table after the transcripts; nothing without votes."""
    if not votes:
        return ""
    lines = ["\n\n# Votes\n", "| time | catalog | task | left | right | verdict | rater | remark |",
             "|---|---|---|---|---|---|---|---|"]
    for v in votes:
        values = [_plain(v["created_at"]), v["catalog"], v["task_key"], v["left_model"],
                  v["right_model"], v["verdict"], v["rater"] or "", v["remarks"] or ""]
        cells = (str(x).replace("|", "\\|").replace("\n", " ") for x in values)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def counted_by_task(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per task key, the generation whose rating counts, else the latest attempt."""
    chosen: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = row["task_key"]
        current = chosen.get(key)
        if row["counted"] or current is None or (
            not current["counted"] and row["attempt"] > current["attempt"]
        ):
            chosen[key] = row
    return chosen


def to_seed_csv(rows: list[dict[str, Any]], catalog: Catalog) -> str:
    """Exactly the old scripts' columns: #,TASK,VOTE,REMARKS (CRLF, as they wrote it)."""
    chosen = counted_by_task(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(SEED_COLUMNS)
    for number, task in enumerate(catalog.tasks, start=1):
        row = chosen.get(task.key)
        counted = row is not None and row["counted"]
        writer.writerow([number, task.title, row["score"] if counted else "",
                         (row["remarks"] or "") if counted else ""])
    return buffer.getvalue()


def code_fence(text: str) -> str:
    """A code fence longer than any backtick run in the text, so any answer fits inside."""
    longest = max(map(len, re.findall("`+", text)), default=0)
    return "`" * max(3, longest + 1)


def figures_line(row: dict[str, Any]) -> str:
    parts = [
        f"TTFT {fmt(row['ttft_s'], ' s', 2)}",
        *([f"answer TTFT {fmt(row['answer_ttft_s'], ' s', 2)}"]
          if row.get("reasoning_s") is not None else []),
        f"prompt {fmt(row['prompt_tps'], ' t/s')}",
        f"decode {fmt(row['decode_tps'], ' t/s')}",
        f"e2e {fmt(row['e2e_tps'], ' t/s')}",
        f"engine decode {fmt(row['engine_decode_tps'], ' t/s')}",
        f"tokens {row['prompt_tokens'] or 0} in / {row['completion_tokens'] or 0} out",
        f"tiktoken {row['prompt_tiktoken'] or 0} / {row['completion_tiktoken'] or 0}",
        f"total {fmt(row['total_s'], ' s', 2)}",
        f"finish {row['finish_reason'] or '–'}",
    ]
    return " · ".join(parts)


def checks_lines(results: list[CheckResult]) -> str:
    passed = sum(r.passed for r in results)
    lines = [f"**Checks** ({passed} of {len(results)} passed; hints, not part of the score):"
             "\n"]
    lines += [f"- {'✓' if r.passed else '✗'} {r.line}" for r in results]
    return "\n".join(lines) + "\n"


def to_markdown(rows: list[dict[str, Any]], catalogs: dict[str, Catalog]) -> str:
    """A transcript per session: each prompt, answer, figures, score and remarks."""
    out: list[str] = []
    by_session: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_session.setdefault(row["session_id"], []).append(row)
    for session_id, session_rows in by_session.items():
        first = session_rows[0]
        catalog = catalogs.get(session_id)
        chosen = counted_by_task(session_rows)
        total = sum(r["score"] for r in chosen.values()
                    if r["counted"] and not r["is_warmup"])
        rated = sum(1 for r in chosen.values() if r["counted"] and not r["is_warmup"])
        n_tasks = len(catalog.tasks) if catalog else rated
        out.append(f"# {first['model']} · {first['catalog']} · session {session_id}\n")
        out.append(f"- backend: {first['backend']}")
        out.append(f"- started: {_plain(first['started_at'])}")
        out.append(f"- rater: {first['session_rater'] or '–'}")
        out.append(f"- score: {total} of {5 * n_tasks} ({rated} of {n_tasks} tasks rated)\n")
        order = [t.key for t in catalog.all_tasks()] if catalog else list(chosen)
        for key in order + [k for k in chosen if k not in order]:
            row = chosen.get(key)
            if row is None:
                continue
            label = "warm-up" if row["is_warmup"] else "task"
            out.append(f"## {row['task_title']} ({label} `{key}`, attempt {row['attempt']})\n")
            if row["system"]:
                out.append(f"**System:** {row['system']}\n")
            fence = code_fence(row["prompt"])
            out.append(f"**Prompt:**\n\n{fence}text\n{row['prompt']}\n{fence}\n")
            if row.get("reasoning"):  # folded, as in the app
                fence = code_fence(row["reasoning"])
                title = thinking_line(row.get("reasoning_tokens"), row.get("reasoning_s"))
                out.append(f"<details><summary>{title}</summary>\n\n{fence}text\n"
                           f"{row['reasoning']}\n{fence}\n\n</details>\n")
            fence = code_fence(row["response"])
            out.append(f"**Answer** ({row['status']}):\n\n{fence}text\n{row['response']}\n"
                       f"{fence}\n")
            if row["error"]:
                out.append(f"**Error:** {row['error']}\n")
            out.append(f"_{figures_line(row)}_\n")
            results = checks_from_json(row.get("checks"))
            if results:
                out.append(checks_lines(results))
            if row["counted"]:
                out.append(f"**Score: {row['score']}/5**" + (
                    f" — {row['remarks']}" if row["remarks"] else "") + "\n")
            else:
                out.append("**Not rated**\n")
    return "\n".join(out)
