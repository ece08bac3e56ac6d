"""`agent fix` in a real terminal (tmux): the TUI opens, keys work, and the plain summary follows on exit."""

from __future__ import annotations

import shutil

import pytest

from tests.fix_helpers import ESCALATE
from tests.repo_helpers import ISSUE, make_repo
from tests.terminal_helpers import Tmux

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def test_agent_fix_opens_the_tui_in_a_terminal_and_prints_the_summary_after_quit(tmp_path, make_fake, fake_env):
    fake = make_fake(ESCALATE)
    repo = make_repo(tmp_path / "calc")
    issue = tmp_path / "issue.md"
    issue.write_text(ISSUE)
    args = ["fix", str(issue), "--repo", str(repo), "--test-cmd", "python -m pytest -q"]
    args += ["--model", "claude-opus-4-7", "--effort", "medium", "--sandbox", "local"]
    tmux = Tmux()
    try:
        tmux.start_agent(tmp_path, args, fake_env(fake))
        screen = tmux.wait_for("✓ SOLVED")
        assert "tests failed" in screen and "passed" in screen and "claude-opus-4-7@medium" in screen
        tmux.run("send-keys", "-t", "t", "d")
        screen = tmux.wait_for("Diff of the passing attempt 2")
        assert "+    return a + b" in screen
        tmux.run("send-keys", "-t", "t", "Escape")
        tmux.wait_for("Ladder")
        tmux.run("send-keys", "-t", "t", "q")
        screen = tmux.wait_for("EXIT=0")
        assert "solved" in screen and "agent/add-returns-the-wrong-sum" in screen and "per solved issue" in screen
        assert "Ladder" not in screen  # the app has left the alternate screen
    finally:
        tmux.kill()
