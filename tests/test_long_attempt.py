"""A 100-turn attempt with 8 KB outputs against a model with a small context window.

`agent fix` in-process: the real Anthropic SDK to the fake provider (which rejects prompts over
the model's window exactly as the real API does), a local sandbox over a real git repository,
a real ledger. The model answers by request count, so summaries do not make it repeat itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from agent.core.events import Event
from agent.engine.condensers.view import SUMMARY_REQUEST
from agent.fake_provider import FakeProvider
from agent.ledger import Ledger
from agent.simulate.script import Script, ScriptedTurn
from agent.wiring import FixOptions, run_fix
from tasks.issues import IssueText

READS = 96
WINDOW = 60_000
OUTPUT = "y" * 8000


class LongAttempt:
    """96 reads of 8 KB, then the fix, the tests and "Done."; a summary request gets a summary."""

    def __init__(self) -> None:
        self.step = 0
        self.summaries = 0
        self._lock = threading.Lock()

    def turn(self, api: str, body: dict[str, Any], effort: str | None, index: int) -> ScriptedTurn:
        last = body["messages"][-1]["content"]
        text = last if isinstance(last, str) else " ".join(str(block.get("text", "")) for block in last)
        with self._lock:
            if SUMMARY_REQUEST in text:
                self.summaries += 1
                return ScriptedTurn(text=f"Summary {self.summaries}: read modules; add() subtracts; fix pending.")
            self.step += 1
            step = self.step
        if step <= READS:
            read = {"name": "bash", "input": {"command": f"cat big.txt && echo {step}"}}
            return ScriptedTurn(text=f"Read {step}.", tool_calls=[read])
        if step == READS + 1:
            edit = {"command": "str_replace", "path": "calc.py", "old_str": "a - b", "new_str": "a + b"}
            return ScriptedTurn(text="Fix.", tool_calls=[{"name": "str_replace_based_edit_tool", "input": edit}])
        if step == READS + 2:
            return ScriptedTurn(
                text="Test.", tool_calls=[{"name": "bash", "input": {"command": "python -m pytest -q"}}]
            )
        return ScriptedTurn(text="Done.")


def make_repo(root: Path, agent_toml: str) -> Path:
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (root / "test_calc.py").write_text("from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    (root / "big.txt").write_text(OUTPUT)
    (root / "agent.toml").write_text(agent_toml)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@x"
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env)
    return root


def run(
    tmp_path: Path, agent_toml: str, *, window_known: bool = True
) -> tuple[dict[str, Any], Exception | None, FakeProvider, list[Event], Ledger]:
    """`agent fix` on the long attempt; the fake rejects prompts over WINDOW tokens, and the
    configuration says so unless `window_known` is False (then the catalog's 1M is believed)."""
    known = f'[models."claude-opus-4-7"]\ncontext_window = {WINDOW}\n' if window_known else ""
    toml = known + agent_toml
    repo = make_repo(tmp_path / "repo", toml)
    events: list[Event] = []
    script = Script.model_validate({"context_windows": {"claude-opus-4-7": WINDOW}})
    fake = FakeProvider(script, responder=LongAttempt()).start()
    try:
        env = {"ANTHROPIC_BASE_URL": fake.anthropic_base_url, "ANTHROPIC_API_KEY": "test-key"}
        options = FixOptions(
            repo=repo,
            ladder="claude-opus-4-7@max",
            test_cmd="python -m pytest -q",
            sandbox="local",
            ledger=tmp_path / "ledger.sqlite",
        )
        issue = IssueText(title="add() subtracts", body="Read big.txt many times, then fix add().", source="test")
        result, failure = run_fix(issue, options, env, Console(quiet=True), events.append)
    finally:
        fake.stop()
    return result, failure, fake, events, Ledger(tmp_path / "ledger.sqlite")


def prompt_tokens(fake: FakeProvider) -> list[int]:
    return [
        usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
        for request in fake.requests
        if (usage := request.usage) is not None
    ]


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    """Runs (trajectories) go under the test's own home."""
    monkeypatch.setenv("AGENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AGENT_CONFIG", os.devnull)


def test_masking_keeps_a_100_turn_attempt_inside_a_small_window_and_the_fix_passes(tmp_path):
    result, failure, fake, events, ledger = run(tmp_path, "")
    assert failure is None
    assert result["solved"] is True, result
    [attempt] = result["attempts"]
    assert attempt["outcome"] == "finished" and attempt["turns"] == READS + 3
    assert all(request.status == 200 for request in fake.requests)
    assert max(prompt_tokens(fake)) < WINDOW
    kinds = [event.kind for event in events]
    assert kinds.count("context_masked") >= 3
    # Every call is in the ledger, summaries included, priced as served.
    [row] = ledger.attempts(result["run_id"])
    assert len(ledger.calls(row.id)) == len(fake.requests)
    # The trajectory keeps every tool result in full.
    trajectory = json.loads(next((tmp_path / "home" / "runs").rglob("attempt-1.json")).read_text())
    outputs = [
        block["output"]
        for message in trajectory["messages"]
        for block in message["content"]
        if block["type"] == "tool_result"
    ]
    assert sum(output.startswith(OUTPUT) for output in outputs) == READS
    last = {"role": "assistant", "content": [{"type": "text", "text": "Done."}], "model": "claude-opus-4-7"}
    assert trajectory["messages"][-1] == last  # the model's last word is kept too
    assert [event["kind"] for event in trajectory["context"]].count("masked") == kinds.count("context_masked")


def test_without_masking_the_same_attempt_outgrows_the_window(tmp_path):
    unbounded = "[efforts.max]\nmax_turns = 100\nmax_tokens = 64000\ncontext_tokens = 100000000\n"
    result, failure, fake, _, _ = run(tmp_path, unbounded, window_known=False)
    [attempt] = result["attempts"]
    assert attempt["outcome"] == "context_window"
    assert fake.requests[-1].status == 400
    assert failure is None and result["solved"] is False


def test_near_the_window_the_oldest_turns_are_summarised_billed_and_said(tmp_path):
    # Results kept in full up to the window's half: the masked history alone nears the window, so
    # the model summarises the oldest turns, more than once over 100 turns.
    toml = "[context]\nsummarise_at = 0.6\nmask_to = 0.9\n"
    result, failure, fake, events, ledger = run(tmp_path, toml)
    assert failure is None and result["solved"] is True
    summaries = [event for event in events if event.kind == "context_summarised"]
    assert summaries, [event.kind for event in events]
    assert summaries[0].data["text"].startswith("context: the prompt neared claude-opus-4-7's window")
    assert max(prompt_tokens(fake)) < WINDOW
    [row] = ledger.attempts(result["run_id"])
    calls = ledger.calls(row.id)
    assert len(calls) == len(fake.requests) == READS + 3 + len(summaries)
    assert all(call.cost_usd is not None and call.cost_usd > 0 for call in calls)
