"""A real terminal for the tests: `python -m agent` in a tmux session of its own (120x40), read back as
the screen shows it, keys sent to it."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
import uuid
from pathlib import Path

from tests.cli_helpers import agent_command


class Tmux:
    """A tmux server of its own (its socket named per test) with one session `t`."""

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
        command = shlex.join(agent_command(*args))
        flags = [item for name, value in env.items() for item in ("-e", f"{name}={value}")]
        self.run("new-session", "-d", "-s", "t", "-x", "120", "-y", "40", *flags, f"{command}; echo EXIT=$?; sleep 60")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)
