"""Helpers for the TUI tests: the text on screen, waiting in a Pilot, what the fix view shows, and ledgers with
fixed content for snapshots."""

from __future__ import annotations

import html
import re
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from textual.app import App
from textual.css.query import NoMatches
from textual.widgets import RichLog

from agent.core.messages import Usage
from agent.ledger import CallRecord, Ledger
from tui.fix_screen import FixScreen

TEXT = re.compile(
    r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" clip-path="url\(#[^"]*-line-(\d+)\)">(.*?)</text>'
)
CELL_WIDTH = 12.2  # Textual's SVG export: pixels per terminal column


def screen_text(app: App) -> str:
    """What the terminal shows, as plain text (read back from Textual's SVG screenshot)."""
    rows: dict[int, list[tuple[float, str]]] = {}
    for match in TEXT.finditer(app.export_screenshot()):
        rows.setdefault(int(match.group(2)), []).append((float(match.group(1)), html.unescape(match.group(3))))
    lines = []
    for number in sorted(rows):
        line = ""
        for x, text in sorted(rows[number]):
            line = line.ljust(round(x / CELL_WIDTH)) + text
        lines.append(line.replace("\xa0", " ").rstrip())
    return "\n".join(lines)


async def wait_for(pilot: Any, condition: Callable[[], bool], seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.05)):
        try:
            if condition():
                return
        except NoMatches:
            pass  # the screen is not composed yet
        await pilot.pause(0.05)
    raise AssertionError("timed out waiting")


def num(value: Decimal) -> float:
    """A ledger Decimal as `agent fix --json` prints it (agent.reporting.results rounds to 6 places)."""
    return float(round(value, 6))


def transcript_text(screen: FixScreen) -> str:
    """Everything the transcript holds (most of it scrolled out of view), one line per row."""
    return "\n".join(strip.text.rstrip() for strip in screen.query_one("#log", RichLog).lines)


def rung_states(screen: FixScreen) -> list[str]:
    return [rung.label() for rung in screen.state.rungs]


PATCH = (
    "diff --git a/calc/ops.py b/calc/ops.py\n--- a/calc/ops.py\n+++ b/calc/ops.py\n"
    '@@ -4,3 +4,3 @@\n def add(a, b):\n     """Return a plus b."""\n-    return a - b\n+    return a + b\n'
)
WRONG_PATCH = PATCH.replace("+    return a + b", "+    return a - b + 0")
LADDER = ["claude-opus-4-7@medium", "claude-opus-4-7@high", "claude-opus-4-7@xhigh"]


def add_issue(
    ledger: Ledger, run_id: str, key: str, title: str, outcomes: list[bool], status: str, cap: str | None = "2.50"
) -> int:
    """One issue climbing LADDER: one attempt per entry of `outcomes` (passed or not), events as the runner emits."""
    issue_id = ledger.add_issue(
        run_id,
        key=key,
        title=title,
        task_type="bug_fix",
        task_type_reason="matched 'wrong', 'returns'",
        decided_by="rules",
        repo="/src/calc",
        base_commit="0" * 40,
        test_cmd="python -m pytest -q",
        ladder=",".join(LADDER),
        policy="planner",
    )

    def emit(kind: str, data: dict, attempt_id: int | None = None) -> None:
        ledger.record_event(run_id, kind, data, issue_id, attempt_id)

    emit(
        "issue_started",
        {
            "key": key,
            "title": title,
            "task_type": "bug_fix",
            "reason": "matched 'wrong', 'returns'",
            "decided_by": "rules",
            "repo": "/src/calc",
            "test_cmd": "python -m pytest -q",
            "ladder": LADDER,
            "targets": [],
            "max_cost_usd": cap,
        },
    )
    emit("baseline", {"summary": "1 passed, 1 failed (exit 1)", "exit_code": 1, "counts": {"passed": 1, "failed": 1}})
    for index, passed in enumerate(outcomes):
        rung = LADDER[index]
        if index:
            emit("escalation", {"rung_index": index, "rung": rung, "after": "finished"})
        attempt_id = ledger.start_attempt(
            issue_id,
            run_id,
            rung_index=index,
            model="claude-opus-4-7",
            provider="anthropic",
            effort_asked=rung.split("@")[1],
            effort_sent=rung.split("@")[1],
            max_turns=30,
        )
        emit(
            "attempt_started",
            {
                "rung_index": index,
                "model": "claude-opus-4-7",
                "effort": rung.split("@")[1],
                "effort_sent": rung.split("@")[1],
                "max_turns": 30,
            },
            attempt_id,
        )
        texts = ["Plan: the fault is in calc/ops.py; I will fix add() and run pytest.", "Editing.", "Done."]
        for turn, text in enumerate(texts, start=1):
            emit("turn_started", {"turn": turn, "max_turns": 30, "max_tokens": 8000}, attempt_id)
            usage = Usage(input_tokens=1000 * turn, cache_read_tokens=400 * (turn - 1), output_tokens=120)
            cost = Decimal("0.008") * turn
            ledger.record_call(
                attempt_id,
                CallRecord(
                    turn=turn,
                    model="claude-opus-4-7",
                    effort_sent="high",
                    usage=usage,
                    cost_usd=cost,
                    price_source="test",
                    duration_s=1.0,
                ),
            )
            emit("model_call", {"turn": turn, **usage.model_dump(), "cost_usd": str(cost)}, attempt_id)
            if turn == 1:
                emit("plan", {"text": text}, attempt_id)
            emit("assistant", {"turn": turn, "text": text, "tool_calls": int(turn < 3)}, attempt_id)
            if turn < 3:
                command = (
                    {"command": "view", "path": "calc/ops.py"}
                    if turn == 1
                    else {"command": "str_replace", "path": "calc/ops.py"}
                )
                emit(
                    "tool_call",
                    {"turn": turn, "id": f"c{turn}", "name": "str_replace_based_edit_tool", "input": command},
                    attempt_id,
                )
                emit(
                    "tool_result",
                    {
                        "turn": turn,
                        "id": f"c{turn}",
                        "is_error": False,
                        "output": "def add(a, b):\n    return a - b",
                        "seconds": 0.01,
                    },
                    attempt_id,
                )
        counts = {"passed": 2} if passed else {"passed": 1, "failed": 1}
        why = "test command passed: 2 passed (exit 0)" if passed else "test command failed: 1 passed, 1 failed (exit 1)"
        emit("tests", {"passed": passed, "why": why, "summary": why, "counts": counts, "exit_code": 0}, attempt_id)
        ledger.finish_attempt(
            attempt_id, "finished", passed, turns=3, diff_lines=8, patch=PATCH if passed else WRONG_PATCH, plan=texts[0]
        )
        emit(
            "attempt_finished",
            {"rung_index": index, "outcome": "finished", "tests_passed": passed, "why": why, "turns": 3},
            attempt_id,
        )
    for index in range(len(outcomes), len(LADDER)):
        if status == "budget_exhausted":
            emit("rung_skipped", {"rung_index": index, "rung": LADDER[index], "reason": "budget"})
    if status != "running":
        ledger.finish_issue(issue_id, status)
        emit(
            "issue_finished",
            {"status": status, "branch": "agent/add-returns-the-wrong-sum" if status == "solved" else None},
        )
    return issue_id


def fixed_times(path: Path, run_id: str, created: float, finished: float | None) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE runs SET created_at = ?, finished_at = ? WHERE id = ?", (created, finished, run_id))


def fix_ledger(path: Path) -> str:
    """A finished fix run: medium fails the tests, high passes (the run id is fixed)."""
    ledger = Ledger(path)
    run_id = ledger.create_run(
        "fix", {"issue": "issue.md"}, Decimal(100), Decimal("2.50"), run_id="20260101-120000-fix001"
    )
    add_issue(ledger, run_id, "add-returns-the-wrong-sum", "add() returns the wrong sum", [False, True], "solved")
    ledger.finish_run(run_id)
    ledger.close()
    return run_id


def bench_ledger(path: Path) -> str:
    """A bench run of 4 tasks, 3 done and one running, started at t=1,000,000 (ETA with clock at +600 s)."""
    ledger = Ledger(path)
    run_id = ledger.create_run("bench", {"total": 4}, Decimal(100), None, run_id="20260101-120000-bench1")
    add_issue(ledger, run_id, "calc-1", "add() returns the wrong sum", [False, True], "solved")
    add_issue(ledger, run_id, "calc-2", "sub() is off by one", [True], "solved")
    add_issue(ledger, run_id, "calc-3", "mul() overflows", [False, False, False], "unsolved")
    add_issue(ledger, run_id, "calc-4", "div() by zero", [False], "running")
    ledger.close()
    fixed_times(path, run_id, 1_000_000.0, None)
    return run_id
