"""`agent demo`: a keyless first run through the real SDK, sandbox and git path, with a simulated model.

It copies a small demo repository (shipped here) into the agent's home, commits it, starts the
built-in fake provider on loopback with a script that fails at medium effort and passes at high,
for `agent.demo.run_demo`, which runs the same `fix` flow as `agent fix` against it.
"""

from __future__ import annotations

import os
import shutil
import time
from importlib import resources
from pathlib import Path

from agent.core.errors import TaskError
from agent.core.host_git import git_out
from agent.simulate.script import Script, load_script

DEMO_MODEL = "claude-opus-4-7"
BANNER = (
    "[bold yellow]This is a demo with a SIMULATED model.[/] A fake provider on 127.0.0.1 replays a script "
    "through the real Anthropic SDK; the sandbox, tests, git branch and ledger are real. Costs are what "
    f"{DEMO_MODEL} would charge for the simulated tokens. No API key is used."
)


def make_demo_repo(home: Path) -> Path:
    source = resources.files("agent.simulate.demo").joinpath("repo")
    target = home / "demo" / time.strftime("%Y%m%d-%H%M%S") / "stats"
    target.parent.mkdir(parents=True, exist_ok=True)
    with resources.as_file(source) as folder:
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    env = {"GIT_AUTHOR_NAME": "demo", "GIT_AUTHOR_EMAIL": "demo@localhost"}
    env |= {"GIT_COMMITTER_NAME": "demo", "GIT_COMMITTER_EMAIL": "demo@localhost"}
    env |= {
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }  # the user's git settings (signing...) stay out
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "stats: median helper"]):
        git_out("-C", str(target), *args, env=env, failed=lambda verb, detail: TaskError(f"demo: git {verb}: {detail}"))
    return target


def demo_script() -> Script:
    """The fake provider's script: the medium-effort attempt fails the tests, the high one passes."""
    with resources.as_file(resources.files("agent.simulate.demo").joinpath("script.json")) as script_path:
        return load_script(script_path)


def demo_issue_path() -> Path:
    """The demo's issue file (a real file on disk, installed with the package)."""
    return Path(str(resources.files("agent.simulate.demo").joinpath("issue.md")))
