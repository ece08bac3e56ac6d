"""`agent report --html`: one self-contained HTML file; plots are matplotlib PNGs embedded as base64.

Each plot is honest about what it cannot show: a group or policy with nothing solved has no
$ per solved, so it is named in a note under the plot instead of being drawn at zero, and a plot
with nothing to draw is replaced by a note. Axes are fixed: solve rate 0-100 %, cost from $0 up to
a round number above the largest value. Point labels are placed so that no two overlap.

The router's sections (`agent.reporting.stats`) follow: fallback rates with their advice, API $ per
model per day as a table and a stacked bar chart (priced $ only; unpriced calls named under it),
validation failures by reason and latency percentiles per model.

With a learned policy, its calibration (`agent.reporting.calibration`) follows the policies: the
reliability tables and a reliability diagram, predicted P(solved) against the realised solve rate per
bin of the forecast (with its Wilson 95% interval) and per fold, over the diagonal of a calibrated policy.
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from matplotlib.ticker import MaxNLocator, PercentFormatter
from matplotlib.transforms import Bbox

from agent.reporting.calibration import RELIABILITY_NUMBERS, calibration_notes, reliability_tables
from agent.reporting.report import cell, policy_notes, report_notes, rows_with_v, shown_columns
from agent.reporting.stats import SPEND_TITLE, StatsTable, stats_notes, stats_tables

DPI = 110
GROUP_COLOR, POLICY_COLOR, LEARNED_COLOR = "#1f77b4", "#ff7f0e", "#2ca02c"
MARKER_SIZE = 7.0  # points, the diameter of a plotted marker
UNDEFINED = "nothing solved, so $ per solved is undefined"


@dataclass
class Plot:
    """One plot of the report: a figure, or only a note when there is nothing to draw."""

    title: str
    figure: Figure | None
    notes: list[str] = field(default_factory=list)


def pareto(points: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """The points no other point beats on both cost (lower) and solve rate (higher), by cost."""
    frontier, best = [], -1.0
    for cost, rate, name in sorted(points, key=lambda point: (point[0], -point[1])):
        if rate > best:
            frontier.append((cost, rate, name))
            best = rate
    return frontier


def nice_top(value: float) -> float:
    """A round axis end above `value` with about 10 % headroom: 16.7 -> 20, 50 -> 60; 1 for nothing."""
    if value <= 0:
        return 1.0
    ticks = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(0, value * 1.1)
    return float(ticks[-1])


def _figure(width: float, height: float) -> tuple[Figure, Axes, RendererBase]:
    figure = Figure(figsize=(width, height), dpi=DPI)
    canvas = FigureCanvasAgg(figure)
    return figure, figure.add_subplot(), canvas.get_renderer()


# Directions (degrees) and distances (points) tried for a label, in order; further rings get a leader line.
_ANGLES = (45, -45, 135, -135, 90, -90, 0, 180, 22.5, -22.5, 157.5, -157.5, 67.5, -67.5, 112.5, -112.5)
_RINGS = (6.0, 14.0, 24.0, 36.0, 50.0, 66.0, 84.0)


def _candidate(x: float, y: float, width: float, height: float, angle: float, ring: float) -> Bbox:
    """The box (pixels, 1 px of margin) of a label pushed `ring` pixels from (x, y) towards `angle`."""
    dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    ha = "left" if dx > 0.3 else "right" if dx < -0.3 else "center"
    va = "bottom" if dy > 0.3 else "top" if dy < -0.3 else "center"
    left = x + dx * ring - {"left": 0.0, "right": width, "center": width / 2}[ha]
    bottom = y + dy * ring - {"bottom": 0.0, "top": height, "center": height / 2}[va]
    return Bbox.from_bounds(left - 1, bottom - 1, width + 2, height + 2)


def place_labels(
    axes: Axes, renderer: RendererBase, anchors: list[tuple[float, float, str]], fontsize: float = 8
) -> list[Annotation]:
    """Label each (x, y, text) anchor so that no label overlaps another label or a marker.

    Greedy: anchors from top-left, each takes the first direction and distance, nearest first, where
    its box stays inside the axes and clear of every marker and label placed so far; when none is
    clear it takes the one with the least overlap. Axis limits must be set before.
    """
    scale = axes.figure.dpi / 72
    inside = axes.get_window_extent(renderer)
    radius = MARKER_SIZE / 2 * scale + 1
    pixels = {(x, y): axes.transData.transform((x, y)) for x, y, _ in anchors}
    taken = [Bbox.from_extents(px - radius, py - radius, px + radius, py + radius) for px, py in pixels.values()]
    labels = []
    for x, y, text in sorted(anchors, key=lambda anchor: (-anchor[1], anchor[0])):
        probe = axes.text(0, 0, text, fontsize=fontsize)
        size = probe.get_window_extent(renderer)
        probe.remove()
        best: tuple[float, float, Bbox] | None = None
        px, py = pixels[(x, y)]
        for ring, angle in product(_RINGS, _ANGLES):
            box = _candidate(px, py, size.width, size.height, angle, ring * scale)
            clash = box.width * box.height - _overlap(box, inside) + sum(_overlap(box, other) for other in taken)
            if best is None or clash < best[0]:
                best = (clash, ring, box)
            if clash == 0:
                break
        assert best is not None
        _, ring, box = best
        arrow = {"arrowstyle": "-", "color": "#888", "lw": 0.6} if ring > _RINGS[0] else None
        offset = ((box.x0 + 1 - px) / scale, (box.y0 + 1 - py) / scale)
        label = axes.annotate(
            text, (x, y), xytext=offset, textcoords="offset points", ha="left", va="bottom",
            fontsize=fontsize, arrowprops=arrow, annotation_clip=False,
        )  # fmt: skip
        labels.append(label)
        taken.append(box)
    return labels


def _overlap(one: Bbox, other: Bbox) -> float:
    width = min(one.x1, other.x1) - max(one.x0, other.x0)
    height = min(one.y1, other.y1) - max(one.y0, other.y0)
    return width * height if width > 0 and height > 0 else 0.0


def solve_rate_plot(data: dict[str, Any]) -> Plot:
    """Solve rate against $ per solved for every group and policy (the learned one marked apart), each
    labelled, with the Pareto frontier."""
    title = "Solve rate vs $ per solved"
    rows = [(row, "group") for row in data["groups"]]
    rows += [(row, "policy" if row.get("folds") is None else "learned") for row in data["policies"]]
    labelled = [(row, kind, row["group"] if kind == "group" else f"policy: {row['group']}") for row, kind in rows]
    points = [
        (row["cost_per_solved_usd"], row["solve_rate"], label, kind)
        for row, kind, label in labelled
        if row["cost_per_solved_usd"] is not None and row["solve_rate"] is not None
    ]
    left_out = [label for row, _, label in labelled if row["cost_per_solved_usd"] is None]
    if not points:
        return Plot(title, None, ["no solved issues: cost per solved is undefined, so there is nothing to plot"])
    figure, axes, renderer = _figure(7.5, 4.5)
    legends = {"group": f"by {data['by']}", "policy": "policy", "learned": "learned policy (cross-validated)"}
    for kind, color, marker in (
        ("group", GROUP_COLOR, "o"),
        ("policy", POLICY_COLOR, "s"),
        ("learned", LEARNED_COLOR, "D"),
    ):
        mine = [(cost, rate) for cost, rate, _, of in points if of == kind]
        if mine:
            axes.scatter(
                [cost for cost, _ in mine], [rate for _, rate in mine], s=MARKER_SIZE**2, marker=marker,
                color=color, label=legends[kind], zorder=3, clip_on=False,
            )  # fmt: skip
    frontier = pareto([(cost, rate, label) for cost, rate, label, _ in points])
    axes.plot(
        [cost for cost, _, _ in frontier], [rate for _, rate, _ in frontier], linestyle="--", color="#555",
        marker="o", markersize=MARKER_SIZE + 5, markerfacecolor="none", label="Pareto frontier", zorder=2,
        clip_on=False,
    )  # fmt: skip
    axes.set_xlim(0, nice_top(max(cost for cost, _, _, _ in points)))
    axes.set_ylim(0, 1)
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    axes.set_xlabel("$ per solved issue (API + review)")
    axes.set_ylabel("solve rate")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, frameon=False)
    merged: dict[tuple[float, float], list[str]] = {}
    for cost, rate, label, _ in points:
        merged.setdefault((cost, rate), []).append(label)
    place_labels(axes, renderer, [(cost, rate, ", ".join(names)) for (cost, rate), names in merged.items()])
    notes = [f"not plotted ({UNDEFINED}): {', '.join(left_out)}"] if left_out else []
    return Plot(title, figure, notes)


def task_type_plot(data: dict[str, Any]) -> Plot:
    """$ per solved issue for each task type; a type with nothing solved is marked, not drawn at $0."""
    title = "$ per solved by task type"
    rows = data["by_task_type"]
    costs = [row["cost_per_solved_usd"] for row in rows]
    if all(cost is None for cost in costs):
        return Plot(title, None, ["no solved issues: cost per solved is undefined for every task type"])
    figure, axes, _ = _figure(7.5, 3.5)
    names = [str(row["group"]) for row in rows]
    bars = axes.bar(names, [cost or 0.0 for cost in costs], width=0.5, color=GROUP_COLOR)
    axes.bar_label(bars, labels=["none solved" if cost is None else f"${cost:.2f}" for cost in costs], fontsize=8)
    axes.set_ylim(0, nice_top(max(cost for cost in costs if cost is not None)))
    axes.set_xlim(-0.75, len(names) - 0.25)  # bars half a slot wide, however few
    axes.set_ylabel("$ per solved issue")
    axes.tick_params(axis="x", rotation=30)
    for tick in axes.get_xticklabels():
        tick.set_horizontalalignment("right")
    unsolved = [name for name, cost in zip(names, costs, strict=True) if cost is None]
    notes = [f"no bar ({UNDEFINED}): {', '.join(unsolved)}"] if unsolved else []
    return Plot(title, figure, notes)


def spend_plot(stats: dict[str, Any]) -> Plot:
    """API $ per day, one stacked bar per day with a segment per model; unpriced calls are named, not drawn."""
    title = "API $ per day, stacked by model"
    rows = stats["spend"]["by_day"]
    unpriced = [f"{row['model']} on {row['day']} ({row['unpriced_calls']})" for row in rows if row["unpriced_calls"]]
    notes = [f"not drawn, no price: calls of {', '.join(unpriced)}"] if unpriced else []
    priced = [row for row in rows if row["api_cost_usd"]]
    if not priced:
        nothing = "no call has a price" if all(row["api_cost_usd"] is None for row in rows) else "API $ is $0"
        return Plot(title, None, [*notes, f"{nothing} in these runs: nothing to draw"])
    days = sorted({row["day"] for row in rows})
    models = sorted({row["model"] for row in priced})
    spend = {(row["day"], row["model"]): row["api_cost_usd"] or 0.0 for row in rows}
    figure, axes, _ = _figure(7.5, 3.5)
    bottoms = [0.0] * len(days)
    for model in models:
        heights = [spend.get((day, model), 0.0) for day in days]
        axes.bar(days, heights, bottom=bottoms, width=0.6, label=model)
        bottoms = [bottom + height for bottom, height in zip(bottoms, heights, strict=True)]
    axes.set_ylim(0, nice_top(max(bottoms)))
    axes.set_xlim(-0.75, len(days) - 0.25)
    axes.set_ylabel("API $")
    axes.set_xlabel("day (UTC)")
    axes.tick_params(axis="x", rotation=30)
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, frameon=False)
    return Plot(title, figure, notes)


def calibration_plot(name: str, calibrated: dict[str, Any]) -> Plot:
    """A reliability diagram: per bin of predicted P(solved) with a task in it, the bin's mean forecast
    against its realised solve rate (Wilson 95% interval as error bars), each fold's the same way, and
    the diagonal a calibrated policy's points sit on. Axes 0-100 % both."""
    title = f"Calibration of {name}: predicted vs realised P(solved)"
    bins = [row for row in calibrated["bins"] if row["tasks"]]
    if not bins:
        return Plot(title, None, [f"{name}: no held-out task has a forecast, so there is nothing to plot"])
    figure, axes, renderer = _figure(6.5, 5.0)
    axes.plot([0, 1], [0, 1], linestyle="--", color="#555", label="calibrated: realised = predicted", zorder=1)
    spread = [
        [row["realised"] - row["realised_low"] for row in bins],
        [row["realised_high"] - row["realised"] for row in bins],
    ]
    axes.errorbar(
        [row["mean_predicted"] for row in bins], [row["realised"] for row in bins], yerr=spread, fmt="D",
        color=LEARNED_COLOR, markersize=MARKER_SIZE, capsize=3, label="bin of predicted P (95% interval)", zorder=3,
    )  # fmt: skip
    folds = [row for row in calibrated["folds"] if row["tasks"]]
    axes.scatter(
        [row["mean_predicted"] for row in folds], [row["realised"] for row in folds], s=MARKER_SIZE**2, marker="s",
        color=POLICY_COLOR, label="fold", zorder=3, clip_on=False,
    )  # fmt: skip
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_aspect("equal")
    for axis in (axes.xaxis, axes.yaxis):
        axis.set_major_formatter(PercentFormatter(xmax=1))
    axes.set_xlabel("predicted P(solved), mean")
    axes.set_ylabel("realised solve rate")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, frameon=False)
    merged: dict[tuple[float, float], list[str]] = {}
    for row in bins:
        merged.setdefault((row["mean_predicted"], row["realised"]), []).append(f"n={row['tasks']}")
    for row in folds:
        merged.setdefault((row["mean_predicted"], row["realised"]), []).append(str(row["label"]))
    place_labels(axes, renderer, [(x, y, ", ".join(names)) for (x, y), names in merged.items()])
    empty = [str(row["label"]) for row in calibrated["bins"] if not row["tasks"]]
    notes = [f"bins with no task, not drawn: {', '.join(empty)}"] if empty else []
    return Plot(title, figure, notes)


def calibration_html(data: dict[str, Any]) -> str:
    """Each learned policy's reliability tables, then its reliability diagram and notes."""
    parts = []
    for name, calibrated in data.get("calibration", {}).items():
        for title, first, rows in reliability_tables(name, calibrated):
            head = "".join(f"<th>{html.escape(header)}</th>" for header in (first, *RELIABILITY_NUMBERS))
            body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
            parts.append(f"<h2>{html.escape(title)}</h2><table><tr>{head}</tr>{body}</table>")
        parts.append(_notes(calibration_notes(name, calibrated)))
        parts.append(_plot_html(calibration_plot(name, calibrated)))
    return "".join(parts)


def plots(data: dict[str, Any]) -> list[Plot]:
    return [solve_rate_plot(data), task_type_plot(data)]


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _notes(notes: list[str]) -> str:
    return "".join(f"<p class='note'>{html.escape(note)}</p>" for note in notes)


def _html_table(title: str, first: str, rows: list[dict[str, Any]], notes: list[str]) -> str:
    shown = shown_columns()
    head = "".join(f"<th>{html.escape(header)}</th>" for _, header in shown)
    body = "".join(
        "<tr><td>"
        + html.escape(str(row["group"]))
        + "</td>"
        + "".join(f"<td>{html.escape(cell(key, row[key]))}</td>" for key, _ in shown)
        + "</tr>"
        for row in rows
    )
    unpriced = [f"{row['group']} ({row['unpriced_calls']})" for row in rows if row["unpriced_calls"]]
    if unpriced:
        notes = [*notes, f"API $ leaves out model calls with no price, so it is a lower bound: {', '.join(unpriced)}"]
    table = f"<table><tr><th>{html.escape(first)}</th>{head}</tr>{body}</table>"
    return f"<h2>{html.escape(title)}</h2>{table}{_notes(notes)}"


def _stats_table_html(table: StatsTable) -> str:
    head = "".join(f"<th>{html.escape(column.header)}</th>" for column in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(value)}</td>" for value in row) + "</tr>" for row in table.rows)
    advice = "".join(f"<p class='note'>advice: {html.escape(line)}</p>" for line in table.advice)
    return f"<h2>{html.escape(table.title)}</h2><table><tr>{head}</tr>{body}</table>{advice}"


def stats_html(stats: dict[str, Any]) -> str:
    """The router's sections: every table of `agent stats`, the spend chart after its table, then the notes."""
    parts = []
    for table in stats_tables(stats):
        parts.append(_stats_table_html(table))
        if table.title == SPEND_TITLE:
            parts.append(_plot_html(spend_plot(stats)))
    return "".join(parts) + _notes(stats_notes(stats))


def _plot_html(plot: Plot) -> str:
    title = html.escape(plot.title)
    if plot.figure is None:
        return f"<h2>{title}</h2>{_notes(plot.notes)}"
    image = f"<img alt='{title}' src='data:image/png;base64,{_png(plot.figure)}'>"
    return f"<h2>{title}</h2>{image}{_notes(plot.notes)}"


def write_html(data: dict[str, Any], path: Path) -> None:
    about_policies = [note for row in data["policies"] for note in policy_notes(row)]
    tables: list[tuple[str, str, list[dict[str, Any]], list[str]]] = [
        (f"By {data['by']}", data["by"], rows_with_v(data, "groups"), [])
    ]
    if data["policies"]:
        tables.append(("Policies (offline, from the grid)", "policy", rows_with_v(data, "policies"), about_policies))
    tables.append(("By task type", "task type", rows_with_v(data, "by_task_type"), []))
    parts, explained = [_notes(report_notes(data))], False
    for title, first, rows, notes in tables:
        if not explained and any(row["solved"] == 0 for row in rows):
            notes, explained = [*notes, f"$ / solved is - where {UNDEFINED} (not $0)"], True
        parts.append(_html_table(title, first, rows, notes))
    parts.append(calibration_html(data))
    parts.extend(_plot_html(plot) for plot in plots(data))
    parts.append(stats_html(data["stats"]))
    style = (
        "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}"
        ".note{color:#7a4b00;background:#fff6e0;border-left:3px solid #e0a000;padding:4px 8px;max-width:60em}"
        "img{max-width:100%}"
    )
    runs = html.escape(", ".join(data["runs"]))
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>agent report: runs {runs}</title>"
        f"<style>{style}</style></head><body><h1>agent report</h1><p>Runs: {runs}</p>{''.join(parts)}</body></html>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
