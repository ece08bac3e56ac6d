"""The views show a held provider: the fix view's transcript has the hold and its release, the batch
view's totals say which provider is held until when, and drop the line once it is released. The
events are the provider gate's own (`agent.engine.calling.quota`), written to a real ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.core.config import ReviewConfig
from agent.core.errors import ProviderError
from agent.engine.calling.quota import ProviderGate, clock_text
from agent.engine.run_setup import IssueLog
from agent.ledger import Ledger
from agent.ledger.writer import LedgerWriter
from tests.tui_helpers import bench_ledger, fix_ledger, screen_text, transcript_text, wait_for
from tui.app import AgentApp
from tui.app_state import AppState
from tui.batch_screen import BatchScreen
from tui.fix_screen import FixScreen

pytestmark = pytest.mark.anyio
SIZE = (120, 40)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def viewer(path: Path, run_id: str) -> AgentApp:
    context = AppState(
        ledger=Ledger(path), review=ReviewConfig(), reviewer="ana", clock=lambda: 1_000_600.0, monotonic=lambda: 50.0
    )
    return AgentApp(context, run_id=run_id)


def held(path: Path, run_id: str, key: str) -> tuple[ProviderGate, IssueLog, float]:
    """The `sim` gate held 42 s by a 429 that one attempt of issue `key` saw (its events in the ledger at
    `path`); the gate, that attempt's voice and the time it resumes."""
    ledger = Ledger(path)
    issue = next(issue for issue in ledger.issues(run_id) if issue.key == key)
    attempt = [attempt for attempt in ledger.attempts(run_id) if attempt.issue_id == issue.id][-1]
    log = IssueLog(LedgerWriter(ledger).write, lambda event: None, run_id)
    log.issue_id, log.attempt_id = issue.id, attempt.id
    gate = ProviderGate("sim")
    refused = ProviderError("sim returned 429 for sim-pro after 0 retries: slow down", status=429, retry_after=42)
    gate.refused(refused, "rate_limit", False, 1800, log)
    [event] = ledger.events(run_id, kinds=("provider_held",))
    return gate, log, event.data["until"]


async def test_the_fix_views_transcript_shows_the_hold_and_its_release(tmp_path):
    path = tmp_path / "ledger.sqlite"
    run_id = fix_ledger(path)
    gate, log, until = held(path, run_id, "add-returns-the-wrong-sum")
    gate.answered(True, log)  # a probe was answered: the hold is released
    app = viewer(path, run_id)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FixScreen) and "released" in transcript_text(app.screen))
        assert isinstance(app.screen, FixScreen)
        shown = " ".join(transcript_text(app.screen).split())
        hold = f"⏸ provider sim held for 42 s (rate limit), resumes {clock_text(until)}"
        release = "▶ provider sim released after 0 s (rate limit, 1 refusal(s))"
        assert hold in shown and release in shown and shown.index(hold) < shown.index(release)


async def test_the_batch_view_says_which_provider_is_held_until_it_is_released(tmp_path):
    path = tmp_path / "ledger.sqlite"
    run_id = bench_ledger(path)
    gate, log, until = held(path, run_id, "calc-4")
    line = f"⏸ provider sim held for 42 s (rate limit), resumes {clock_text(until)}"
    app = viewer(path, run_id)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BatchScreen) and line in screen_text(app))
        gate.answered(True, log)  # a probe was answered: the hold is released
        await wait_for(pilot, lambda: "provider sim" not in screen_text(app))
        assert "solved 2 / done 3 / total 4" in screen_text(app)
    [hold] = Ledger(path).holds(run_id)
    assert (hold.provider, hold.reason, hold.refusals, hold.outcome) == ("sim", "rate_limit", 1, "released")
