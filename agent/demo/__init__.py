"""`agent demo`: a keyless first run through the real SDK, sandbox and git path, with a simulated model.

It copies a small demo repository (shipped here) into the agent's home, commits it, starts the
built-in fake provider on loopback with a script that fails at medium effort and passes at high,
and runs the same `fix` flow as `agent fix` against it.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from importlib import resources
from pathlib import Path

from rich.console import Console

from agent.events import EventSink
from agent.fix_flow import FixOptions, run_fix
from agent.script import load_script
from tasks.issues import read_issue

DEMO_MODEL = "claude-opus-4-7"
BANNER = (
    "[bold yellow]This is a demo with a SIMULATED model.[/] A fake provider on 127.0.0.1 replays a script "
    "through the real Anthropic SDK; the sandbox, tests, git branch and ledger are real. Costs are what "
    f"{DEMO_MODEL} would charge for the simulated tokens. No API key is used."
)


def make_demo_repo(home: Path) -> Path:
    source = resources.files("agent.demo").joinpath("repo")
    target = home / "demo" / time.strftime("%Y%m%d-%H%M%S") / "stats"
    target.parent.mkdir(parents=True, exist_ok=True)
    with resources.as_file(source) as folder:
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    env = {"GIT_AUTHOR_NAME": "demo", "GIT_AUTHOR_EMAIL": "demo@localhost"}
    env |= {"GIT_COMMITTER_NAME": "demo", "GIT_COMMITTER_EMAIL": "demo@localhost", "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "stats: median helper"]):
        subprocess.run(["git", "-C", str(target), *args], check=True, env=env, capture_output=True)
    return target


def run_demo(
    home: Path,
    console: Console,
    on_event: EventSink,
    sandbox: str | None = None,
    ledger: Path | None = None,
    stop: threading.Event | None = None,
) -> tuple[dict, Exception | None]:
    from agent.fake_provider import FakeProvider

    console.print(BANNER)
    repo = make_demo_repo(home)
    console.print(f"demo repository: {repo}")
    with resources.as_file(resources.files("agent.demo").joinpath("script.json")) as script_path:
        script = load_script(script_path)
    with resources.as_file(resources.files("agent.demo").joinpath("issue.md")) as issue_path:
        issue = read_issue(str(issue_path))
    with FakeProvider(script) as fake:
        env = {"ANTHROPIC_BASE_URL": fake.anthropic_base_url, "ANTHROPIC_API_KEY": "demo-not-a-real-key"}
        options = FixOptions(
            repo=repo,
            model=DEMO_MODEL,
            effort="medium",
            test_cmd="python -m pytest -q",
            sandbox=sandbox,
            ledger=ledger,
        )
        return run_fix(issue, options, env, console, on_event, stop)
