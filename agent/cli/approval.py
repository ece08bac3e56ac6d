"""Estimates before spending on the command line: the `--estimate`, `--approve-above` and `--yes` flags
`agent fix` and `agent bench` share, and the approval asked before a run spends anything.

`--approve-above X`: when the estimate's expected total (API $ + review $, V not included) exceeds
X, or a model is unpriced (unless `--allow-unpriced`, which compares the priced part), the run needs a
yes: asked on a terminal (stdin), refused without one (exit 2, one line) unless `--yes`. A no is exit 2
too: nothing ran, no model was called.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Annotated

import typer
from rich.console import Console

from agent.core.errors import ConfigError
from agent.learning.ladder_estimate import Estimate, above_threshold
from agent.reporting.estimate_view import approval_question, refusal

EstimateFlag = Annotated[
    bool,
    typer.Option(
        "--estimate",
        help="Print the expected API $, review minutes, total and P(solved) with 80% intervals, from the"
        " planner's model, and exit without calling any model.",
    ),
]
ApproveAboveFlag = Annotated[
    float | None,
    typer.Option(
        "--approve-above",
        min=0,
        metavar="USD",
        help="Ask before running when the estimated total (API $ + review $) exceeds USD; without a terminal,"
        " refuse (exit 2) unless --yes. An unpriced model counts as above (unless --allow-unpriced).",
    ),
]
YesFlag = Annotated[bool, typer.Option("--yes", help="Approve a run above --approve-above without asking.")]


def approve(estimate: Estimate, above: float | None, yes: bool, allow_unpriced: bool, say: Console) -> None:
    """Let the run go on, or stop it (ConfigError, exit 2) when it is above the threshold and not approved."""
    if above is None:
        return
    threshold = Decimal(str(above))
    if not above_threshold(estimate, threshold, allow_unpriced):
        return
    if yes:
        say.print(f"[yellow]note:[/] {approval_question(estimate, threshold)} yes (--yes)", highlight=False)
        return
    if not sys.stdin.isatty():
        raise ConfigError(refusal(estimate, threshold))
    if not typer.confirm(approval_question(estimate, threshold), default=False, err=True):
        raise ConfigError("not approved: nothing was run and no model was called")
