"""`agent report --html`: one self-contained HTML file; plots are matplotlib PNGs embedded as base64."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from agent.report import COLUMNS, cell


def pareto(points: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """The points no other point beats on both cost (lower) and solve rate (higher), by cost."""
    frontier, best = [], -1.0
    for cost, rate, name in sorted(points, key=lambda point: (point[0], -point[1])):
        if rate > best:
            frontier.append((cost, rate, name))
            best = rate
    return frontier


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _plots(data: dict[str, Any]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = [(row, "group") for row in data["groups"]] + [(row, "policy") for row in data["policies"]]
    points = [
        (row["cost_per_solved_usd"], row["solve_rate"], f"{kind}: {row['group']}")
        for row, kind in rows
        if row["cost_per_solved_usd"] is not None and row["solve_rate"] is not None
    ]
    images = []
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    for cost, rate, name in points:
        axes.scatter(cost, rate, marker="s" if name.startswith("policy") else "o")
        axes.annotate(name, (cost, rate), fontsize=7, xytext=(4, 4), textcoords="offset points")
    frontier = pareto(points)
    if frontier:
        axes.plot([p[0] for p in frontier], [p[1] for p in frontier], "--", color="grey", label="Pareto frontier")
        axes.legend()
    axes.set_xlabel("$ per solved issue")
    axes.set_ylabel("solve rate")
    axes.set_title(f"solve rate vs $ per solved (by {data['by']} and policy)")
    images.append(("Solve rate vs $ per solved", _png(figure)))
    pyplot.close(figure)
    typed = [row for row in data["by_task_type"] if row["cost_per_solved_usd"] is not None]
    figure, axes = pyplot.subplots(figsize=(7, 3.5))
    axes.bar([row["group"] for row in typed], [row["cost_per_solved_usd"] for row in typed])
    axes.set_ylabel("$ per solved issue")
    axes.set_title("$ per solved issue by task type")
    axes.tick_params(axis="x", rotation=30)
    images.append(("$ per solved by task type", _png(figure)))
    pyplot.close(figure)
    return images


def _html_table(title: str, rows: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{html.escape(header)}</th>" for _, header in COLUMNS)
    body = "".join(
        "<tr><td>"
        + html.escape(str(row["group"]))
        + "</td>"
        + "".join(f"<td>{html.escape(cell(key, row[key]))}</td>" for key, _ in COLUMNS)
        + "</tr>"
        for row in rows
    )
    return f"<h2>{html.escape(title)}</h2><table><tr><th></th>{head}</tr>{body}</table>"


def write_html(data: dict[str, Any], path: Path) -> None:
    parts = [_html_table(f"By {data['by']}", data["groups"])]
    if data["policies"]:
        parts.append(_html_table("Policies (offline, from the grid)", data["policies"]))
    parts.append(_html_table("By task type", data["by_task_type"]))
    for title, png in _plots(data):
        parts.append(f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' src='data:image/png;base64,{png}'>")
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>agent report</title><style>{style}</style></head>"
        f"<body><h1>Runs {html.escape(', '.join(data['runs']))}</h1>{''.join(parts)}</body></html>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
