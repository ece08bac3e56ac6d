"""`agent report --html` from real bench runs, rendered in headless Chromium.

Two real runs go into one real ledger (`agent bench --sandbox local` with the simulated `oracle`
and `null` models): a grid where oracle solves everything and null nothing, and a run where
nothing is solved. The report is written by the CLI, rendered by Chromium (a screenshot and the
DOM), and the matplotlib figures behind it are checked for their exact axes, legend and labels.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from matplotlib import image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from agent.reporting.html import GROUP_COLOR, nice_top, place_labels, plots
from tests.bench_helpers import make_suite
from tests.cli_helpers import run_agent

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,2000",
)
UNDEFINED = "nothing solved, so $ per solved is undefined"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose ledger holds a grid run `grid-run` (oracle at medium and high, null at medium) and `null-run`.

    Task ops__neg's gold patch is swapped for ops__mul's: oracle changes the code (review is billed)
    but does not fix neg, so oracle solves 2 of 3 tasks and walks that climb further cost more.
    """
    root = tmp_path_factory.mktemp("report-html")
    suite = make_suite(root / "suite", ["add", "mul", "neg"])
    tasks = [json.loads(line) for line in suite.read_text().splitlines()]
    tasks[2]["patch"] = tasks[1]["patch"]
    suite.write_text("".join(json.dumps(task) + "\n" for task in tasks))
    home = root / "home"
    home.mkdir()
    for args in (
        ("--grid", "oracle@medium,high", "--grid", "null@medium", "--run-id", "grid-run"),
        ("--ladder", "null@medium", "--run-id", "null-run"),
    ):
        done = run_agent(home, "bench", str(suite), *args, "--sandbox", "local", "--json")
        assert done.returncode == 0, done.stderr
    return home


CASES = {
    "solves": ("grid-run", ["fast=oracle@medium", "climb=null@medium,oracle@medium,oracle@high"]),
    "zero-solves": ("null-run", []),
    "missing-rungs": ("grid-run", ["gap=null@medium,oracle@max"]),
}


def report(home: Path, case: str, html: Path) -> dict[str, Any]:
    run_id, policies = CASES[case]
    args = [arg for spec in policies for arg in ("--policy", spec)]
    done = run_agent(home, "report", run_id, "--by", "rung", *args, "--html", str(html), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def chromium(page: Path, workdir: Path) -> tuple[Any, str]:
    """The page as Chromium draws it (RGB 0-255) and its DOM after loading."""
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not installed: install it with `apt-get install chromium` (CI installs it)")
    common = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={workdir / 'chromium-profile'}"]
    shot = workdir / "page.png"
    done = subprocess.run([*common, f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.exists(), done.stderr
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr
    return (image.imread(shot)[..., :3] * 255).round().astype(int), dom.stdout


def _color_pixels(pixels: Any, color: str) -> int:
    rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    return int((pixels == rgb).all(axis=-1).sum())


SOLVE_RATE_UNDEFINED = "no solved issues: cost per solved is undefined, so there is nothing to plot"
TASK_TYPE_UNDEFINED = "no solved issues: cost per solved is undefined for every task type"
MISSING = "gap: 3 task(s) hit a rung the grid did not run; the walk stops there and the task counts as unsolved"
EXPECTED_TEXT = {
    "solves": [
        "agent report: runs grid-run",
        "<h2>Policies (offline, from the grid)</h2>",
        "<td>oracle@medium</td>",
        "<td>null@medium</td>",
        "<td>climb</td>",
        f"not plotted ({UNDEFINED}): null@medium</p>",
    ],
    "zero-solves": [
        "agent report: runs null-run",
        "<td>null@medium</td>",
        f"$ / solved is - where {UNDEFINED} (not $0)",
        SOLVE_RATE_UNDEFINED,
        TASK_TYPE_UNDEFINED,
    ],
    "missing-rungs": [
        "agent report: runs grid-run",
        "<td>gap</td>",
        MISSING,
        f"not plotted ({UNDEFINED}): null@medium, policy: gap</p>",
    ],
}


@pytest.mark.parametrize("case", list(CASES))
def test_html_report_renders_in_chromium_with_its_notes(home, tmp_path, case):
    page = tmp_path / "report.html"
    report(home, case, page)
    pixels, dom = chromium(page, tmp_path)
    assert pixels.shape == (2000, 1200, 3)
    assert (pixels.min(axis=-1) < 250).mean() > 0.03 and pixels.std() > 10  # not a blank page (that is 0)
    assert [text for text in EXPECTED_TEXT[case] if text not in dom] == []
    plotted = case != "zero-solves"
    assert dom.count('src="data:image/png;base64,') == (2 if plotted else 0)
    blue = _color_pixels(pixels, GROUP_COLOR)  # only the plots use it: the embedded PNGs were decoded and drawn
    assert blue > 1000 if plotted else blue == 0
    assert (MISSING in dom) == (case == "missing-rungs")


def label_problems(figure: Figure) -> list[str]:
    """Pairs of point labels whose text overlaps, and labels that leave the axes (leader lines may cross)."""
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    axes = figure.axes[0]
    boxes = {text.get_text(): Text.get_window_extent(text, renderer) for text in axes.texts}
    inside = axes.get_window_extent(renderer)
    overlaps = [f"{a} / {b}" for (a, one), (b, other) in combinations(boxes.items(), 2) if one.overlaps(other)]
    outside = [
        f"{name} outside"
        for name, box in boxes.items()
        if not inside.contains(box.x0, box.y0) or not inside.contains(box.x1, box.y1)
    ]
    return overlaps + outside


EXPECTED_PLOTS = {
    # A review is billed for an attempt that changed the code: oracle's, 10 min at $100/h = $16.67; null's are free.
    # oracle rungs: 3 reviews over 2 solved = $25; climb: neg walks both oracle rungs, 4 reviews over 2 = $33.33.
    "solves": {
        "xlim": (0.0, 40.0),
        "legend": ["by rung", "policy", "Pareto frontier"],
        "labels": ["oracle@high, oracle@medium, policy: fast", "policy: climb"],
        "frontier": [(25.0, 0.6667)],
        "notes": [f"not plotted ({UNDEFINED}): null@medium"],
    },
    "missing-rungs": {
        "xlim": (0.0, 30.0),
        "legend": ["by rung", "Pareto frontier"],  # gap solved nothing: no policy point
        "labels": ["oracle@high, oracle@medium"],
        "frontier": [(25.0, 0.6667)],
        "notes": [f"not plotted ({UNDEFINED}): null@medium, policy: gap"],
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_plots_have_honest_axes_and_labels_that_do_not_overlap(home, tmp_path, case):
    data = report(home, case, tmp_path / "report.html")
    solve_rate, by_type = plots(data)
    if case == "zero-solves":
        assert (solve_rate.figure, solve_rate.notes) == (None, [SOLVE_RATE_UNDEFINED])
        assert (by_type.figure, by_type.notes) == (None, [TASK_TYPE_UNDEFINED])
        return
    expected = EXPECTED_PLOTS[case]
    assert solve_rate.figure is not None and by_type.figure is not None
    axes = solve_rate.figure.axes[0]
    assert (axes.get_xlim(), axes.get_ylim()) == (expected["xlim"], (0.0, 1.0))
    legend = axes.get_legend()
    assert [text.get_text() for text in legend.get_texts()] == expected["legend"]
    line = legend.legend_handles[-1]
    assert (line.get_linestyle(), line.get_marker()) == ("--", "o")  # the legend shows the frontier's line
    frontier = axes.get_lines()[0]
    assert list(zip(frontier.get_xdata(), frontier.get_ydata(), strict=True)) == expected["frontier"]
    assert sorted(text.get_text() for text in axes.texts) == expected["labels"]
    assert label_problems(solve_rate.figure) == []
    assert solve_rate.notes == expected["notes"]
    bars = by_type.figure.axes[0]
    assert [patch.get_height() for patch in bars.patches] == [25.0]  # bug_fix: 6 reviews over 4 solved
    assert (bars.get_xlim(), bars.get_ylim()) == ((-0.75, 0.75), (0.0, 30.0))
    assert by_type.notes == []


@pytest.mark.parametrize(
    ("value", "top"), [(0.0, 1.0), (0.004, 0.005), (1.0, 1.2), (16.666667, 20.0), (50.0, 60.0), (95.0, 120.0)]
)
def test_cost_axis_ends_on_a_round_number_with_headroom(value, top):
    assert nice_top(value) == pytest.approx(top)


def test_crowded_labels_are_placed_without_overlap():
    figure = Figure(figsize=(7.5, 4.5), dpi=110)
    axes = figure.add_subplot()
    axes.set_xlim(0, 10)
    axes.set_ylim(0, 1)
    anchors = [(5.0 + 0.1 * i, 0.5 + 0.01 * (i % 3), f"model-{i}@medium") for i in range(8)]
    labels = place_labels(axes, FigureCanvasAgg(figure).get_renderer(), anchors)
    assert sorted(label.get_text() for label in labels) == sorted(text for _, _, text in anchors)
    assert label_problems(figure) == []
