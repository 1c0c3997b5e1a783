"""The report as Markdown for a blog post, with its charts as SVG files beside it."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from rbyf_tui.answers import Answer
from rbyf_tui.board_tables import Table, battles_table, standings_table
from rbyf_tui.export import checks_lines, code_fence
from rbyf_tui.metrics import thinking_line
from rbyf_tui.report import svg
from rbyf_tui.report.data import CatalogReport, Report, SessionFacts
from rbyf_tui.report.text import (
    NO_TEXT,
    fact_groups,
    figures_text,
    made_line,
    md_inline,
    plain,
    score_of,
    unique_slugs,
    versions_line,
)


def render(report: Report, stem: str) -> tuple[str, dict[str, str]]:
    """The Markdown text and the SVG files it links to (name -> content), named after
    `stem` (the Markdown file's name without .md) so that two reports in one folder keep
    their own charts."""
    files: dict[str, str] = {}
    out = [f"# rbyf report: {', '.join(c.catalog for c in report.catalogs)}\n",
           f"_{made_line(report)}_\n"]
    for c, name in zip(report.catalogs, unique_slugs(c.catalog for c in report.catalogs),
                       strict=True):
        chart_file = f"{stem}-{name}-chart.svg"
        heat_file = f"{stem}-{name}-heatmap.svg"
        files[chart_file] = svg.quality_chart(c.chart)
        if c.matrix.rows:
            files[heat_file] = svg.heat_map(c.matrix)
        out.append(_catalog(c, chart_file, heat_file if c.matrix.rows else None))
    return "\n".join(out), files


def _table(table: Table) -> str:
    align = ["---:" if n in table.right else "---" for n in range(len(table.headers))]
    lines = ["| " + " | ".join(md_inline(h) for h in table.headers) + " |",
             "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(md_inline(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines) + "\n"


def _catalog(c: CatalogReport, chart_file: str, heat_file: str | None) -> str:
    out = [f"## {c.catalog}\n", f"{versions_line(c)}\n", "### Leaderboard\n"]
    if c.standings:
        out.append(_table(standings_table(c.standings, catalog=False)))
        out.append("Mean of the rating that counts per task (the latest); 95% interval: "
                   "exact bootstrap over the model's tasks; models whose intervals overlap "
                   "share a rank.\n")
    else:
        out.append("No ratings yet: only battle votes.\n")
    if c.battles:
        out += ["### Battles\n",
                _table(battles_table([(c.catalog, r) for r in c.battles.rows], catalog=False)),
                f"Bradley–Terry ratings from {c.battles.counted} pairwise votes.\n"]
    if heat_file:
        out += ["### Scores per task\n", f"![Scores per model and task]({quote(heat_file)})\n",
                _table(_heat_table(c))]
    out += ["### Quality against speed\n",
            f"![Mean score against decode speed]({quote(chart_file)})\n"]
    out += [f"{n}. {md_inline(p.model)}: mean {p.mean:.2f} ({p.ci_low:.2f}–{p.ci_high:.2f}), "
            f"{p.decode_tps:.1f} t/s" for n, p in enumerate(c.chart.points, 1)]
    if c.chart.without_speed:
        out.append("\nNo decode speed (not on the chart): "
                   + md_inline(", ".join(c.chart.without_speed)))
    out.append("\n### Tasks side by side\n")
    for task in c.tasks:
        fence = code_fence(task.prompt)
        out.append(f"#### {md_inline(task.title)} ({md_inline(task.key)})\n")
        if task.system:
            system_fence = code_fence(task.system)
            out.append(f"System prompt:\n\n{system_fence}text\n{task.system}\n{system_fence}\n")
        out.append(f"{fence}text\n{task.prompt}\n{fence}\n")
        out += [_answer(m.name, a) for m, a in zip(c.models, task.answers, strict=True)]
    out += ["### Sessions\n", _sessions(c.sessions)]
    return "\n".join(out)


def _heat_table(c: CatalogReport) -> Table:
    grid = c.matrix
    rows = [[row.model, *("·" if row.score(t.key) is None else str(row.score(t.key))
                          for t in grid.tasks),
             "–" if row.mean is None else f"{row.mean:.2f}"] for row in grid.rows]
    headers = ["model", *(t.key for t in grid.tasks), "mean"]
    return Table(headers, rows, list(range(1, len(headers))))


def _answer(model: str, a: Answer | None) -> str:
    if a is None:
        return f"**{md_inline(model)}**: no answer\n"
    remarks = f" — {md_inline(a.remarks)}" if a.remarks else ""
    out = [f"**{md_inline(model)}** · {score_of(a)}{remarks}\n"]
    if a.reasoning:
        fence = code_fence(a.reasoning)
        title = thinking_line(a.figures.get("reasoning_tokens"), a.figures.get("reasoning_s"))
        out.append(f"<details><summary>{escape(title)}</summary>\n\n{fence}text\n{a.reasoning}\n"
                   f"{fence}\n\n</details>\n")
    if a.response:
        fence = code_fence(a.response)
        out.append(f"{fence}text\n{a.response}\n{fence}\n")
    else:
        out.append(f"_{NO_TEXT}_\n")
    if a.status != "ok":
        out.append(f"Status: {md_inline(a.status)}\n")
    out.append(f"_{figures_text(a)}_\n")
    if a.checks:
        out.append(checks_lines(list(a.checks)))
    return "\n".join(out)


def _sessions(sessions: tuple[SessionFacts, ...]) -> str:
    table = Table(["session", "model", "backend", "rater", "origin", "catalog", "started (UTC)"],
                  [[s.id[:8], s.model, s.backend, s.rater or "–", s.origin,
                    s.catalog_version or "–", f"{s.created_at:%Y-%m-%d %H:%M}"]
                   for s in sessions], [])
    out = [_table(table)]
    for s in sessions:
        groups = "\n\n".join(f"{name}:\n\n" + "\n".join(f"- {md_inline(str(k))}: "
                                                      f"{md_inline(plain(v))}"
                                                      for k, v in facts.items())
                             for name, facts in fact_groups(s))
        out.append(f"<details><summary>{s.id[:8]} · {escape(s.model)}: model, settings and "
                   f"hardware</summary>\n\n{groups}\n\n</details>\n")
    return "\n".join(out)

