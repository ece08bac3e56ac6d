"""Attached viewers (`agent tui [RUN_ID]`): the fix view of a live or finished run, the batch view, the picker."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest
from rich.console import Console

from agent.core.config import ReviewConfig, load_config
from agent.ledger import Ledger
from agent.reporting.results import fix_result
from agent.wiring import FixOptions, run_fix
from tasks.issues import read_issue
from tests.repo_helpers import ISSUE, RIGHT_FIX, WRONG_FIX, edit_turn, make_repo, plan_turn
from tests.tui_helpers import bench_ledger, fix_ledger, num, rung_states, screen_text, transcript_text, wait_for
from tui.app import AgentApp
from tui.app_state import AppState
from tui.batch_screen import BatchScreen
from tui.batch_table import BatchTable
from tui.fix_screen import FixScreen
from tui.meters import Meters
from tui.review_screen import ReviewScreen
from tui.run_picker import RunPicker

pytestmark = pytest.mark.anyio
SIZE = (120, 40)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def viewer(path: Path, run_id: str | None = None, clock: float = 1_000_600.0) -> AgentApp:
    context = AppState(
        ledger=Ledger(path), review=ReviewConfig(), reviewer="ana", clock=lambda: clock, monotonic=lambda: 50.0
    )
    return AgentApp(context, run_id=run_id)


async def test_attached_viewer_follows_a_run_in_another_thread_until_it_is_solved(tmp_path):
    slow = [{**turn, "delay_s": 0.3} for turn in (plan_turn(), edit_turn(RIGHT_FIX), {"text": "Fixed."})]
    wrong = [{**turn, "delay_s": 0.3} for turn in (plan_turn(), edit_turn(WRONG_FIX), {"text": "Done."})]
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"rules": [{"effort": "medium", "turns": wrong}, {"turns": slow}]}))
    ledger_path = tmp_path / "ledger.sqlite"
    options = FixOptions(
        repo=make_repo(tmp_path / "calc"),
        model=f"scripted:{script}",
        effort="medium",
        test_cmd="python -m pytest -q",
        sandbox="local",
        ledger=ledger_path,
    )
    outcome: list[dict] = []
    runner = threading.Thread(
        target=lambda: outcome.append(
            run_fix(read_issue(None, ISSUE, env={}), options, {}, Console(file=io.StringIO()), lambda _e: None)[0]
        )
    )
    ledger = Ledger(ledger_path)
    runner.start()
    try:
        for _ in range(200):
            if ledger.runs():
                break
            threading.Event().wait(0.05)
        run_id = ledger.runs()[0].id
        app = viewer(ledger_path, run_id)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, FixScreen))
            screen = app.screen
            assert isinstance(screen, FixScreen)
            seen: set[tuple[str, ...]] = set()

            def solved() -> bool:
                seen.add(tuple(rung_states(screen)))
                return screen.state.status == "solved" and not screen.workers

            await wait_for(pilot, solved)
            assert any(states[:1] == ("tests failed",) and "running" in states[1] for states in seen)
            assert rung_states(screen) == ["tests failed", "passed", "not needed", "not needed"]
            runner.join(30)
            result = fix_result(ledger, run_id, load_config(overrides={"ledger": str(ledger_path)}))
            summary = screen.query_one(Meters).summary
            assert summary is not None and result == outcome[0]
            assert (summary.usage.input_tokens, num(summary.total_cost_usd)) == (
                sum(a["input_tokens"] for a in result["attempts"]),
                result["total_cost_usd"],
            )
            text = transcript_text(screen)
            assert "PLAN Plan: the fault is in calc/ops.py" in text and "model Fixed." in text
    finally:
        runner.join(60)


async def test_attached_fix_view_of_a_finished_run(tmp_path):
    run_id = fix_ledger(tmp_path / "ledger.sqlite")
    app = viewer(tmp_path / "ledger.sqlite", run_id)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FixScreen) and app.screen.state.status == "solved")
        screen = app.screen
        assert isinstance(screen, FixScreen)
        await wait_for(pilot, lambda: screen.query_one(Meters).summary is not None)
        assert rung_states(screen) == ["tests failed", "passed", "not needed"]
        text = screen_text(app)
        # 2 attempts x (0.008 + 0.016 + 0.024) API, 2 x 10 min review at $100/h
        assert "$0.0960" in text and "$33.3333" in text and "$33.4293" in text and "budget $2.50" in text
        await pilot.press("s")  # an attached viewer cannot stop the run
        assert not app.context.stop.is_set()


async def test_fix_view_transcript_shows_invalid_replies_fallbacks_and_masking(tmp_path):
    path = tmp_path / "ledger.sqlite"
    run_id = fix_ledger(path)
    ledger = Ledger(path)
    attempt = ledger.attempts(run_id)[0]
    invalid = "claude-opus-4-7@medium: invalid reply (bad_json): the arguments are not a JSON object"
    text = "claude-opus-4-7: 2 invalid replies (bad_json) → claude-opus-4-7@high for the rest of this attempt"
    masked = "context: masked 12 older tool results (about 18,400 tokens); the latest 8,000 tokens of results stay"
    for kind, data in (
        ("validation_failed", {"turn": 2, "reason": "bad_json", "text": invalid}),
        ("fallback", {"turn": 2, "from": "claude-opus-4-7@medium", "to": "claude-opus-4-7@high", "text": text}),
        ("context_masked", {"turn": 3, "results": 12, "saved_tokens": 18400, "text": masked}),
    ):
        ledger.record_event(run_id, kind, data, attempt.issue_id, attempt.id)
    ledger.close()
    app = viewer(path, run_id)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FixScreen) and "FALLBACK" in transcript_text(app.screen))
        assert isinstance(app.screen, FixScreen)
        shown = " ".join(transcript_text(app.screen).split())  # the log wraps long lines
        assert invalid in shown and f"⤳ FALLBACK {text}" in shown
        assert masked in shown


async def test_batch_view_lists_tasks_with_totals_and_enter_opens_a_task(tmp_path):
    run_id = bench_ledger(tmp_path / "ledger.sqlite")
    app = viewer(tmp_path / "ledger.sqlite", run_id)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BatchScreen) and app.screen.query_one(BatchTable).rows)
        await wait_for(pilot, lambda: "calc-1" in screen_text(app))  # rows are drawn on the next refresh
        text = screen_text(app)
        assert "solved 2 / done 3 / total 4" in text
        assert "ETA 3m 20s" in text and "elapsed 10m 00s" in text
        for row in ("calc-1", "✓ solved", "✗ unsolved", "▶ running", "claude-opus-4-7@xhigh"):
            assert row in text
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FixScreen) and app.screen.state.title != "")
        assert app.screen.state.title == "sub() is off by one"
        assert rung_states(app.screen) == ["passed", "not needed", "not needed"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BatchScreen))


async def test_picker_lists_recent_runs_and_enter_attaches(tmp_path):
    path = tmp_path / "ledger.sqlite"
    fix_ledger(path)
    bench_ledger(path)
    app = viewer(path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, RunPicker) and "20260101-120000-fix001" in screen_text(app)
        )
        text = screen_text(app)
        assert "bench" in text and "4 tasks" in text and "add() returns the wrong sum" in text
        await pilot.press("enter")  # the newest run first: the fix run (the bench one claims 1970)
        await wait_for(pilot, lambda: isinstance(app.screen, FixScreen) and app.screen.state.status == "solved")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunPicker) and app.screen.query_one("#runs").has_focus)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BatchScreen))


# --- snapshots (finished runs from ledgers with fixed content) ---------------------------------
@pytest.mark.parametrize("size", [(120, 32), (80, 24)], ids=["120x32", "80x24"])
def test_snapshot_fix_view(tmp_path, snap_compare, size):
    run_id = fix_ledger(tmp_path / "ledger.sqlite")

    async def settle(pilot) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, FixScreen) and not pilot.app.screen.workers)
        log = pilot.app.screen.query_one("#log")
        heights: list[float] = []
        while len(heights) < 3 or len(set(heights[-3:])) > 1:  # wrapped lines settle after the first resize
            await pilot.pause(0.1)
            heights.append(log.max_scroll_y)
        log.scroll_end(animate=False)
        await pilot.pause(0.1)

    assert snap_compare(viewer(tmp_path / "ledger.sqlite", run_id), terminal_size=size, run_before=settle)


def test_snapshot_batch_view(tmp_path, snap_compare):
    run_id = bench_ledger(tmp_path / "ledger.sqlite")

    async def settle(pilot) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BatchScreen) and "ETA" in screen_text(pilot.app))
        await pilot.pause(0.2)

    assert snap_compare(viewer(tmp_path / "ledger.sqlite", run_id), terminal_size=(120, 24), run_before=settle)


def test_snapshot_review_screen(tmp_path, snap_compare):
    run_id = fix_ledger(tmp_path / "ledger.sqlite")

    async def review(pilot) -> None:
        await wait_for(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, FixScreen)
                and not pilot.app.screen.workers
                and pilot.app.screen.state.title != ""
            ),
        )
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ReviewScreen))
        await pilot.pause(0.2)

    assert snap_compare(viewer(tmp_path / "ledger.sqlite", run_id), terminal_size=(100, 24), run_before=review)
