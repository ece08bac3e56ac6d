"""`agent fix` in a real terminal (tmux): the TUI opens, keys work, and the plain summary follows on exit."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.repo_helpers import ISSUE, make_repo
from tests.test_fix_cli import ESCALATE

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


class Tmux:
    def __init__(self) -> None:
        self.socket = f"agent-tui-test-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t")

    def wait_for(self, text: str, seconds: float = 60) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.screen()}")

    def start_agent(self, tmp_path: Path, args: list[str], env: dict[str, str]) -> None:
        """`agent ARGS` in a 120x40 terminal, with a home of its own; `EXIT=<code>` is echoed at the end."""
        env = {
            **env,
            "AGENT_HOME": str(tmp_path / "agent-home"),
            "AGENT_CONFIG": os.devnull,
            "HOME": str(tmp_path),
            "PATH": os.environ["PATH"],
            "TERM": "xterm-256color",
        }
        command = shlex.join([sys.executable, "-m", "agent", *args])
        flags = [item for name, value in env.items() for item in ("-e", f"{name}={value}")]
        self.run("new-session", "-d", "-s", "t", "-x", "120", "-y", "40", *flags, f"{command}; echo EXIT=$?; sleep 60")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)


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
