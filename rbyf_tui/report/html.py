"""The report as one self-contained HTML file: styles and charts inline, no script, no
request to anywhere, so it opens offline and survives being mailed."""

from __future__ import annotations

from html import escape
from importlib import resources
from typing import Any

from rbyf_tui.answers import Answer
from rbyf_tui.board_tables import Table, battles_table, standings_table
from rbyf_tui.metrics import thinking_line
from rbyf_tui.ranking import MAX_SCORE
from rbyf_tui.report import svg
from rbyf_tui.report.data import CatalogReport, Report, SessionFacts, TaskAnswers
from rbyf_tui.report.text import (
    NO_TEXT,
    fact_groups,
    figures_text,
    made_line,
    plain,
    score_of,
    unique_slugs,
    versions_line,
)

CSS = resources.files("rbyf_tui.report").joinpath("page.css").read_text(encoding="utf-8")
# the heat map's colours, one source for the page and the SVG
SCORE_CSS = "".join(".s{}{{background:{};color:{}}}".format(n, *svg.score_colour(n))
                    for n in range(MAX_SCORE + 1))


def render(report: Report) -> str:
    names = ", ".join(c.catalog for c in report.catalogs)
    anchors = unique_slugs(c.catalog for c in report.catalogs)
    body = [f"<h1>rbyf report: {escape(names)}</h1>",
            f"<p class='meta'>{escape(made_line(report))}</p>", _contents(report, anchors)]
    for n, (catalog, anchor) in enumerate(zip(report.catalogs, anchors, strict=True)):
        body.append(_catalog(catalog, anchor, first=n == 0))
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<meta name='generator' content='rbyf'>"
            f"<title>rbyf report: {escape(names)}</title><style>{CSS}{SCORE_CSS}</style></head>"
            f"<body><main>{''.join(body)}</main></body></html>\n")


def _contents(report: Report, anchors: list[str]) -> str:
    items = []
    for c, anchor in zip(report.catalogs, anchors, strict=True):
        parts = [("board", "leaderboard"), *([("battles", "battles")] if c.battles else []),
                 ("heatmap", "heat map"), ("chart", "quality against speed"),
                 ("tasks", f"{len(c.tasks)} tasks side by side"), ("sessions", "sessions")]
        links = " · ".join(f"<a href='#{kind}-{anchor}'>{label}</a>" for kind, label in parts)
        items.append(f"<li><a href='#{anchor}'>{escape(c.catalog)}</a>: {links}</li>")
    return f"<nav><ul>{''.join(items)}</ul></nav>"


def _table(table: Table, css: str, row_keys: list[str] | None = None) -> str:
    head = "".join(f"<th{' class=num' if n in table.right else ''}>{escape(h)}</th>"
                   for n, h in enumerate(table.headers))
    rows = []
    for r, cells in enumerate(table.rows):
        key = f" data-model='{escape(row_keys[r])}'" if row_keys else ""
        tds = "".join(f"<td{' class=num' if n in table.right else ''}>{escape(c)}</td>"
                      for n, c in enumerate(cells))
        rows.append(f"<tr{key}>{tds}</tr>")
    return (f"<div class='scroll'><table class='{css}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _catalog(c: CatalogReport, anchor: str, first: bool) -> str:
    out = [f"<h2 id='{anchor}'{' class=first' if first else ''}>{escape(c.catalog)}</h2>",
           f"<p class='meta'>{escape(versions_line(c))}</p>",
           f"<h3 id='board-{anchor}'>Leaderboard</h3>"]
    if c.standings:
        out.append(_table(standings_table(c.standings, catalog=False), "leaderboard",
                          [s.model for s in c.standings]))
        out.append("<p class='muted'>Mean of the rating that counts per task (the latest); "
                   "95% interval: exact bootstrap over the model's tasks; models whose "
                   "intervals overlap share a rank. Speeds: medians over the rated "
                   "answers.</p>")
    else:
        out.append("<p class='muted'>No ratings yet: only battle votes.</p>")
    if c.battles:
        out.append(f"<h3 id='battles-{anchor}'>Battles</h3>")
        out.append(_table(battles_table([(c.catalog, r) for r in c.battles.rows],
                                        catalog=False), "battles",
                          [r.model for r in c.battles.rows]))
        out.append(f"<p class='muted'>Bradley–Terry ratings from {c.battles.counted} "
                   "pairwise votes (ties count half), 95% bootstrap intervals.</p>")
    out += [f"<h3 id='heatmap-{anchor}'>Scores per task</h3>", _heat_map(c),
            f"<h3 id='chart-{anchor}'>Quality against speed</h3>", _chart(c),
            f"<h3 id='tasks-{anchor}'>Tasks side by side</h3>"]
    out += [_task(c, task, f"task-{anchor}-{key}")
            for task, key in zip(c.tasks, unique_slugs(t.key for t in c.tasks), strict=True)]
    out += [f"<h3 id='sessions-{anchor}'>Sessions</h3>", _sessions(c.sessions)]
    return f"<section class='catalog' data-catalog='{escape(c.catalog)}'>{''.join(out)}</section>"


def _heat_map(c: CatalogReport) -> str:
    grid = c.matrix
    if not grid.rows:
        return "<p class='muted'>No ratings yet.</p>"
    head = "".join(f"<th class='task' title='{escape(t.title)}'>{escape(t.key)}</th>"
                   for t in grid.tasks)
    rows = []
    for row in grid.rows:
        cells = []
        for task in grid.tasks:
            score = row.score(task.key)
            title = escape(f"{row.model} · {task.title}")
            if score is None:
                cells.append(f"<td class='cell empty' data-task='{escape(task.key)}' "
                             f"title='{title}: not rated'>·</td>")
            else:
                cells.append(f"<td class='cell s{score}' data-task='{escape(task.key)}' "
                             f"title='{title}'>{score}</td>")
        mean = "–" if row.mean is None else f"{row.mean:.2f}"
        rows.append(f"<tr data-model='{escape(row.model)}'><th>{escape(row.model)}</th>"
                    f"{''.join(cells)}<td class='num mean'>{mean}</td>"
                    f"<td class='num total'>{row.total}/{MAX_SCORE * row.n_rated}</td></tr>")
    legend = "".join(f"<span class='s{n}'>{n}</span>" for n in range(MAX_SCORE + 1))
    return (f"<div class='scroll'><table class='heatmap'><thead><tr><th>model</th>{head}"
            f"<th class='num'>mean</th><th class='num'>total</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>"
            f"<p class='muted legend'>score {legend} · = not rated</p>")


def _chart(c: CatalogReport) -> str:
    items = "".join(f"<li>{escape(p.model)}: mean {p.mean:.2f} ({p.ci_low:.2f}–{p.ci_high:.2f})"
                    f", {p.decode_tps:.1f} t/s</li>" for p in c.chart.points)
    without = ""
    if c.chart.without_speed:
        without = ("<p class='muted'>No decode speed (not on the chart): "
                   f"{escape(', '.join(c.chart.without_speed))}</p>")
    return (f"<figure>{svg.quality_chart(c.chart)}<figcaption>"
            f"{f'<ol>{items}</ol>' if items else ''}{without}</figcaption></figure>")


def _task(c: CatalogReport, task: TaskAnswers, anchor: str) -> str:
    system = ("" if not task.system else
              f"<details><summary>system prompt</summary><pre>{escape(task.system)}</pre>"
              "</details>")
    cards = "".join(_answer(m.name, a) for m, a in zip(c.models, task.answers, strict=True))
    return (f"<section class='task' id='{anchor}' "
            f"data-task='{escape(task.key)}'><h4>{escape(task.title)} "
            f"<span class='muted'>{escape(task.key)}</span></h4>{system}"
            f"<div class='prompt'><pre>{escape(task.prompt)}</pre></div>"
            f"<div class='answers'>{cards}</div></section>")


def _answer(model: str, a: Answer | None) -> str:
    if a is None:
        return (f"<article class='answer' data-model='{escape(model)}'><header><h5>"
                f"{escape(model)}</h5><span class='score none'>no answer</span></header>"
                "</article>")
    score = score_of(a)
    badge = (f"<span class='score s{a.score}'>{score}</span>" if a.score is not None
             else f"<span class='score none'>{score}</span>")
    parts = [f"<header><h5>{escape(model)}</h5>{badge}</header>"]
    if a.remarks:
        parts.append(f"<p class='remarks'>{escape(a.remarks)}</p>")
    if a.reasoning:
        title = thinking_line(a.figures.get("reasoning_tokens"), a.figures.get("reasoning_s"))
        parts.append(f"<details class='thinking'><summary>{escape(title)}</summary>"
                     f"<pre>{escape(a.reasoning)}</pre></details>")
    parts.append(f"<pre class='response'>{escape(a.response)}</pre>" if a.response else
                 f"<p class='muted response'>{NO_TEXT}</p>")
    if a.status != "ok":
        parts.append(f"<p class='muted'>status: {escape(a.status)}</p>")
    parts.append(f"<p class='figures'>"
                 f"{escape(figures_text(a))}</p>")
    if a.checks:
        passed = sum(r.passed for r in a.checks)
        items = "".join(f"<li class='{'pass' if r.passed else 'fail'}'>{escape(r.line)}</li>"
                        for r in a.checks)
        parts.append(f"<p class='muted'>checks: {passed} of {len(a.checks)} passed (hints, "
                     f"not part of the score)</p><ul class='checks'>{items}</ul>")
    return f"<article class='answer' data-model='{escape(model)}'>{''.join(parts)}</article>"


def _sessions(sessions: tuple[SessionFacts, ...]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(s.id[:8])}</code></td><td>{escape(s.model)}</td>"
        f"<td>{escape(s.backend)}</td><td>{escape(s.rater or '–')}</td>"
        f"<td>{escape(s.origin)}</td><td>{escape(s.catalog_version or '–')}</td>"
        f"<td>{s.created_at:%Y-%m-%d %H:%M}</td></tr>" for s in sessions)
    table = ("<div class='scroll'><table class='sessions'><thead><tr><th>session</th>"
             "<th>model</th><th>backend</th><th>rater</th><th>origin</th><th>catalog</th>"
             f"<th>started (UTC)</th></tr></thead><tbody>{rows}</tbody></table></div>")
    details = "".join(
        f"<details class='session'><summary>{escape(s.id[:8])} · {escape(s.model)}: model, "
        f"settings and hardware</summary>"
        + "".join(f"<h4>{name}</h4>{_facts(facts)}" for name, facts in fact_groups(s))
        + "</details>" for s in sessions)
    return table + details


def _facts(values: dict[str, Any]) -> str:
    items = "".join(f"<dt>{escape(str(k))}</dt><dd>{escape(plain(v))}</dd>"
                    for k, v in values.items())
    return f"<dl class='facts'>{items}</dl>"
