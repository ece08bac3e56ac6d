"""The fix view driving real runs: the scripted model in a local sandbox, and the fake provider in Docker."""

from __future__ import annotations

import io
import json
import subprocess
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from agent.core.config import load_config
from agent.core.events import Event, EventSink
from agent.ledger import Ledger
from agent.reporting.results import fix_result
from agent.wiring import FixOptions, run_fix
from tasks.issues import read_issue
from tests.fix_helpers import ESCALATE
from tests.repo_helpers import ISSUE, RIGHT_FIX, edit_turn, make_repo, plan_turn
from tests.tui_helpers import num, rung_states, screen_text, transcript_text, wait_for
from tui.app import AgentApp
from tui.app_state import AppState
from tui.diff_screen import DiffScreen
from tui.fix_screen import FixScreen
from tui.meters import Meters
from tui.review_screen import ReviewScreen

SIZE = (120, 40)
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Gate:
    """An event sink that pauses the runner's thread at the first event matching `when`, until opened."""

    def __init__(self, when: Callable[[Event], bool]) -> None:
        self.when, self.reached, self.opened, self.passed = when, threading.Event(), threading.Event(), False

    def wrap(self, sink: EventSink) -> EventSink:
        def on_event(event: Event) -> None:
            sink(event)
            if not self.passed and self.when(event):
                self.passed = True
                self.reached.set()
                self.opened.wait(60)

        return on_event


class Setup:
    def __init__(self, tmp_path: Path, script: dict[str, Any], sandbox: str = "local", model: str | None = None):
        self.repo = make_repo(tmp_path / "calc")
        self.ledger_path = tmp_path / "ledger.sqlite"
        script_path = tmp_path / "script.json"
        script_path.write_text(json.dumps(script))
        self.options = FixOptions(
            repo=self.repo,
            model=model or f"scripted:{script_path}",
            effort="medium",
            test_cmd="python -m pytest -q",
            sandbox=sandbox,
            ledger=self.ledger_path,
            max_cost_per_issue=2.5,
            allow_unpriced=True,  # the scripted model has no price
        )
        self.env: dict[str, str] = {}
        self.config = load_config(overrides={"ledger": str(self.ledger_path)})
        self.now = [100.0]
        self.context = AppState(
            ledger=Ledger(self.ledger_path), review=self.config.review, reviewer="ana", monotonic=lambda: self.now[0]
        )

    def app(self, *gates: Gate) -> AgentApp:
        issue = read_issue(None, ISSUE, env={})

        def work(on_event: EventSink, stop: threading.Event) -> Any:
            sink = on_event
            for gate in gates:
                sink = gate.wrap(sink)
            return run_fix(issue, self.options, self.env, Console(file=io.StringIO()), sink, stop)

        return AgentApp(self.context, work=work)

    def result(self, run_id: str) -> dict[str, Any]:
        return fix_result(self.context.ledger, run_id, self.config)


async def wait_until_over(pilot: Any, app: AgentApp) -> FixScreen:
    await wait_for(pilot, app.context.done.is_set)
    screen = app.screen
    assert isinstance(screen, FixScreen)
    await wait_for(pilot, lambda: screen.query_one(Meters).summary is not None and not screen.workers)
    return screen


def current_turn(screen: FixScreen) -> int:
    return screen.state.rungs[screen.state.current].turn if screen.state.current is not None else 0


async def test_ladder_shows_the_failed_rung_then_the_escalation_and_the_pass(tmp_path):
    setup = Setup(tmp_path, ESCALATE)
    gate = Gate(lambda event: event.kind == "attempt_finished")
    app = setup.app(gate)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, gate.reached.is_set)
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, FixScreen)
        assert rung_states(screen) == ["tests failed", "waiting", "waiting", "waiting"]
        text = screen_text(app)
        assert "✗" in text and "tests failed" in text and "RUNNING" in text
        assert "TESTS FAIL ✗  1 failed · 1 passed" in text
        gate.opened.set()
        screen = await wait_until_over(pilot, app)
        assert rung_states(screen) == ["tests failed", "passed", "not needed", "not needed"]
        assert [rung.escalated for rung in screen.state.rungs] == [False, True, False, False]
        assert "✓ SOLVED" in screen_text(app)
        text = transcript_text(screen)
        assert "↑ ESCALATING to" in text and "TESTS PASS ✓  2 passed" in text


async def test_meters_show_the_ledger_numbers_of_fix_json(tmp_path):
    setup = Setup(tmp_path, ESCALATE)
    app = setup.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_until_over(pilot, app)
        result = setup.result(screen.state.run_id)
        summary = screen.query_one(Meters).summary
        assert summary is not None
        assert app.outcome[0] == result
        assert summary.usage.input_tokens == sum(a["input_tokens"] for a in result["attempts"])
        assert summary.usage.output_tokens == sum(a["output_tokens"] for a in result["attempts"])
        assert (summary.review_minutes, num(summary.total_cost_usd)) == (20.0, result["total_cost_usd"])
        text = screen_text(app)
        assert f"{summary.usage.input_tokens:,}" in text
        assert "review 20 min est" in text and "$33.3333" in text and "+6 unpriced" in text


async def test_review_key_records_the_measured_minutes_and_the_meters_follow(tmp_path):
    setup = Setup(tmp_path, ESCALATE)
    app = setup.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_until_over(pilot, app)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert "review time 00:00" in screen_text(app) and "+    return a + b" in screen_text(app)
        setup.now[0] += 90
        await pilot.press("a")
        run_id = screen.state.run_id
        ledger = setup.context.ledger
        passed = next(attempt for attempt in ledger.attempts(run_id) if attempt.tests_passed)
        await wait_for(pilot, lambda: bool(ledger.reviews(passed.id)))
        assert [(r.minutes, r.verdict, r.reviewer) for r in ledger.reviews(passed.id)] == [(1.5, "accept", "ana")]
        await wait_for(pilot, lambda: screen.query_one(Meters).summary.review_minutes == 11.5)
        result = setup.result(run_id)
        assert result["review_minutes"] == 11.5
        assert num(screen.query_one(Meters).summary.total_cost_usd) == result["total_cost_usd"]
        # Measured and estimated minutes apart: 10 estimated for the failed attempt, 1.5 measured for the passing one.
        summary = screen.query_one(Meters).summary
        assert (summary.estimated_review_minutes, summary.measured_review_minutes) == (10.0, 1.5)
        assert (result["review_minutes_estimated"], result["review_minutes_measured"]) == (10.0, 1.5)
        text = screen_text(app)
        assert "review 10 min est" in text and "$16.6667" in text
        assert "review 1.5 min measured" in text and "$2.5000" in text


async def test_diff_key_shows_the_solved_attempts_patch(tmp_path):
    setup = Setup(tmp_path, ESCALATE)
    app = setup.app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until_over(pilot, app)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen))
        text = screen_text(app)
        assert app.screen.heading.startswith("Diff of the passing attempt 2, scripted:")
        assert "Diff of the passing attempt 2" in text
        assert "-    return a - b" in text and "+    return a + b" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FixScreen))


def turn_start(turn: int, occurrence: int = 1) -> Callable[[Event], bool]:
    """Matches the `occurrence`-th start of turn `turn` (one per attempt)."""
    seen = [0]

    def when(event: Event) -> bool:
        if event.kind == "turn_started" and event.data.get("turn") == turn:
            seen[0] += 1
            return seen[0] == occurrence
        return False

    return when


async def test_diff_key_during_an_attempt_shows_its_work_so_far(tmp_path):
    setup = Setup(tmp_path, ESCALATE)
    first_turn = Gate(lambda event: event.kind == "turn_started")
    first_patch = Gate(lambda event: event.kind == "work_patch")
    # Each attempt is held before its last turn until its live diff is shown: an attempt that ends
    # sooner shows its recorded patch instead.
    hold_one, hold_two = Gate(turn_start(3)), Gate(turn_start(3, occurrence=2))
    app = setup.app(first_turn, first_patch, hold_one, hold_two)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, first_turn.reached.is_set)
        screen = app.screen
        assert isinstance(screen, FixScreen)
        await wait_for(pilot, lambda: screen.state.running_rung() is not None)
        await pilot.press("d")
        toasts = app._notifications  # the headless screenshot does not draw toasts
        await wait_for(pilot, lambda: any("no change yet in attempt 1" in n.message for n in toasts), seconds=5)
        assert isinstance(app.screen, FixScreen)
        first_turn.opened.set()
        await wait_for(pilot, first_patch.reached.is_set)
        await wait_for(pilot, lambda: bool(screen.state.work_patch))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen))
        assert app.screen.heading.startswith("Diff of the running attempt 1, scripted:")
        assert "after turn 2" in app.screen.heading
        assert "+    return a - b + 0" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FixScreen))
        assert "patch now: 1 file(s), +1 -1" in screen_text(app)
        first_patch.opened.set()
        hold_one.opened.set()
        await wait_for(pilot, hold_two.reached.is_set)
        await wait_for(pilot, lambda: "+    return a + b" in screen.state.work_patch)  # attempt 2's own work
        hold_two.opened.set()
        await wait_until_over(pilot, app)
        patches = [e.data for e in setup.context.ledger.events(screen.state.run_id, kinds=("work_patch",))]
        assert [(data["turn"], data["files"], data["added"], data["removed"]) for data in patches] == [
            (2, 1, 1, 1),
            (2, 1, 1, 1),
        ]


async def test_stop_key_ends_the_attempt_after_the_current_turn_and_skips_the_rest(tmp_path):
    setup = Setup(tmp_path, ESCALATE)
    gate = Gate(lambda event: event.kind == "turn_started")
    app = setup.app(gate)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, gate.reached.is_set)
        await pilot.press("s")
        assert setup.context.stop.is_set()
        gate.opened.set()
        screen = await wait_until_over(pilot, app)
        assert rung_states(screen) == ["stopped", "skipped (stopped)", "skipped (stopped)", "skipped (stopped)"]
        result = setup.result(screen.state.run_id)
        assert [(a["outcome"], a["turns"]) for a in result["attempts"]] == [("stopped", 1)]


async def test_quit_during_a_run_asks_and_keeping_it_running_changes_nothing(tmp_path):
    setup = Setup(tmp_path, ESCALATE)
    gate = Gate(lambda event: event.kind == "turn_started")
    app = setup.app(gate)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, gate.reached.is_set)
        await pilot.press("q")
        await pilot.pause(0.1)
        assert "Stop and quit?" in screen_text(app)
        await pilot.press("n")
        assert not setup.context.stop.is_set()
        gate.opened.set()
        screen = await wait_until_over(pilot, app)
        assert screen.state.status == "solved"


async def test_a_run_that_fails_before_starting_exits_the_app_and_hands_back_the_error(tmp_path):
    setup = Setup(tmp_path, ESCALATE, model="mystery-9")
    app = setup.app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, app.context.done.is_set)
        await pilot.pause(0.2)
    assert "unknown model mystery-9" in str(app.error)


def containers(run_id: str) -> str:
    done = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=agent.run={run_id}"], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.mark.docker
async def test_docker_run_through_the_fake_provider_meters_match_fix_json(tmp_path, make_fake, fake_env):
    fake = make_fake(ESCALATE)
    setup = Setup(tmp_path, ESCALATE, sandbox="docker", model="claude-opus-4-7")
    setup.env = fake_env(fake)
    app = setup.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_until_over(pilot, app)
        result = setup.result(screen.state.run_id)
        summary = screen.query_one(Meters).summary
        assert summary is not None and result["solved"]
        assert num(summary.api_cost_usd) == result["api_cost_usd"] > 0
        assert num(summary.total_cost_usd) == result["total_cost_usd"]
        assert rung_states(screen)[:2] == ["tests failed", "passed"]
        assert f"${summary.api_cost_usd:.4f}" in screen_text(app)
    assert containers(screen.state.run_id) == ""


@pytest.mark.docker
async def test_quit_during_a_docker_run_stops_it_and_leaves_no_container(tmp_path, make_fake, fake_env):
    # turn 1 takes 3 s: time for the keys to land before it ends, on a loaded machine too
    slow = {"rules": [{"turns": [{**plan_turn(), "delay_s": 3.0}, edit_turn(RIGHT_FIX), {"text": "Fixed."}]}]}
    fake = make_fake(slow)
    setup = Setup(tmp_path, slow, sandbox="docker", model="claude-opus-4-7")
    setup.env = fake_env(fake)
    app = setup.app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FixScreen) and current_turn(app.screen) == 1)
        screen = app.screen
        assert isinstance(screen, FixScreen)
        run_id = screen.state.run_id
        assert containers(run_id) != ""  # the attempt's sandbox is up; the model is answering turn 1
        await pilot.press("q")
        await pilot.press("y")
        assert setup.context.stop.is_set()
        await wait_for(pilot, app.context.done.is_set)
        await pilot.pause(0.3)
    assert app.return_code == 0
    assert containers(run_id) == ""
    ledger = Ledger(setup.ledger_path)
    assert ledger.run(run_id).status == "finished"
    assert [(a.outcome, a.turns) for a in ledger.attempts(run_id)] == [("stopped", 1)]
    assert Decimal(str(app.outcome[0]["api_cost_usd"])) > 0
