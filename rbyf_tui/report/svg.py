"""The report's charts as standalone SVG text: quality against speed, and the heat map.
Plain strings, no library: a report must open offline and survive being mailed."""

from __future__ import annotations

import math
from html import escape

from rbyf_tui.ranking import MAX_SCORE, Chart
from rbyf_tui.score_matrix import Matrix

# Score 0..5: red to blue through pale yellow (tells apart for red-green colour blindness);
# the number is always written in the cell too.
SCORE_COLOURS = ("#b2182b", "#ef8a62", "#fddbc7", "#d1e5f0", "#67a9cf", "#2166ac")
DARK_SCORES = {0, 5}  # white text on these
FONT = "font-family='system-ui, -apple-system, Segoe UI, Roboto, sans-serif'"
ACCENT = "#2166ac"


def score_colour(score: int) -> tuple[str, str]:
    """(background, text) colours of a score's cell."""
    return SCORE_COLOURS[score], "#fff" if score in DARK_SCORES else "#111"


def _ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `top`: steps of 1, 2 or 5 times a power of 10."""
    raw = top / count
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [round(step * n, 10) for n in range(math.ceil(top / step - 1e-9) + 1)]


def _number(value: float) -> str:
    return f"{value:g}"


def quality_chart(data: Chart) -> str:
    """Mean score (with its 95% interval) against median decode tokens/s; the points are
    numbered in leaderboard order (the caption names them)."""
    width, height = 640, 380
    left, right, top, bottom = 52, 20, 28, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = _ticks(data.x_max) if data.points else [0.0]
    x_top = max(ticks[-1], 1e-9)

    def x(value: float) -> float:
        return left + value / x_top * plot_w

    def y(score: float) -> float:
        return top + (MAX_SCORE - score) / MAX_SCORE * plot_h

    out = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
           f"width='{width}' height='{height}' role='img' class='chart' {FONT} "
           f"font-size='12'>",
           f"<title>Mean score against decode speed: {escape(data.catalog)}</title>",
           f"<rect x='0' y='0' width='{width}' height='{height}' fill='#fff'/>"]
    for score in range(MAX_SCORE + 1):
        out.append(f"<line x1='{left}' x2='{left + plot_w}' y1='{y(score):.1f}' "
                   f"y2='{y(score):.1f}' stroke='#e3e3e3'/>"
                   f"<text x='{left - 8}' y='{y(score) + 4:.1f}' text-anchor='end' "
                   f"fill='#444'>{score}</text>")
    for tick in ticks:
        out.append(f"<line x1='{x(tick):.1f}' x2='{x(tick):.1f}' y1='{top}' "
                   f"y2='{top + plot_h}' stroke='#f0f0f0'/>"
                   f"<text x='{x(tick):.1f}' y='{top + plot_h + 18}' text-anchor='middle' "
                   f"fill='#444'>{_number(tick)}</text>")
    out.append(f"<rect x='{left}' y='{top}' width='{plot_w}' height='{plot_h}' fill='none' "
               "stroke='#999'/>")
    out.append(f"<text x='{left + plot_w / 2}' y='{height - 12}' text-anchor='middle' "
               "fill='#222'>decode tokens/s (median of the rated answers)</text>")
    out.append(f"<text transform='translate(14 {top + plot_h / 2}) rotate(-90)' "
               "text-anchor='middle' fill='#222'>mean score (95% interval)</text>")
    for number, point in enumerate(data.points, 1):
        px, py = x(point.decode_tps), y(point.mean)
        low, high = y(point.ci_low), y(point.ci_high)
        label = (f"{number}. {point.model}: mean {point.mean:.2f} "
                 f"({point.ci_low:.2f}–{point.ci_high:.2f}), {point.decode_tps:.1f} t/s")
        out.append(
            f"<g class='point'><title>{escape(label)}</title>"
            f"<line x1='{px:.1f}' x2='{px:.1f}' y1='{low:.1f}' y2='{high:.1f}' "
            f"stroke='{ACCENT}' stroke-width='1.5'/>"
            f"<line x1='{px - 4:.1f}' x2='{px + 4:.1f}' y1='{low:.1f}' y2='{low:.1f}' "
            f"stroke='{ACCENT}'/><line x1='{px - 4:.1f}' x2='{px + 4:.1f}' y1='{high:.1f}' "
            f"y2='{high:.1f}' stroke='{ACCENT}'/>"
            f"<circle cx='{px:.1f}' cy='{py:.1f}' r='9' fill='{ACCENT}'/>"
            f"<text x='{px:.1f}' y='{py + 4:.1f}' text-anchor='middle' fill='#fff' "
            f"font-size='11' font-weight='bold'>{number}</text></g>")
    if not data.points:
        out.append(f"<text x='{left + plot_w / 2}' y='{top + plot_h / 2}' "
                   "text-anchor='middle' fill='#666'>no model here has a measured decode "
                   "speed</text>")
    out.append("</svg>")
    return "".join(out)


def heat_map(grid: Matrix) -> str:
    """Models (rows, best mean first) x tasks (columns, by key), each cell its score."""
    cell, label_w, head_h = 30, 230, 140
    width = label_w + cell * (len(grid.tasks) + 1) + 90  # the last rotated keys lean right
    height = head_h + cell * len(grid.rows) + 10
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
           f"width='{width}' height='{height}' role='img' class='heatmap' {FONT} "
           f"font-size='12'>",
           f"<title>Scores per model and task: {escape(grid.catalog)}</title>",
           f"<rect x='0' y='0' width='{width}' height='{height}' fill='#fff'/>"]
    for n, task in enumerate([*(t.key for t in grid.tasks), "mean"]):
        cx = label_w + n * cell + cell / 2
        out.append(f"<text transform='translate({cx + 4:.0f} {head_h - 6}) rotate(-60)' "
                   f"fill='#222'>{escape(_short(task, 22))}</text>")
    for r, row in enumerate(grid.rows):
        top = head_h + r * cell
        out.append(f"<text x='{label_w - 8}' y='{top + cell / 2 + 4:.0f}' text-anchor='end' "
                   f"fill='#222'>{escape(_short(row.model, 32))}</text>")
        for n, task in enumerate(grid.tasks):
            score = row.score(task.key)
            left = label_w + n * cell
            if score is None:
                out.append(f"<rect x='{left}' y='{top}' width='{cell - 2}' "
                           f"height='{cell - 2}' fill='#f4f4f4'/>")
                continue
            fill, ink = score_colour(score)
            out.append(f"<rect x='{left}' y='{top}' width='{cell - 2}' height='{cell - 2}' "
                       f"fill='{fill}'><title>{escape(row.model)} · {escape(task.key)}: "
                       f"{score}</title></rect><text x='{left + (cell - 2) / 2:.0f}' "
                       f"y='{top + cell / 2 + 3:.0f}' text-anchor='middle' "
                       f"fill='{ink}'>{score}</text>")
        mean = "–" if row.mean is None else f"{row.mean:.2f}"
        out.append(f"<text x='{label_w + len(grid.tasks) * cell + 4}' "
                   f"y='{top + cell / 2 + 4:.0f}' fill='#222'>{mean}</text>")
    out.append("</svg>")
    return "".join(out)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
