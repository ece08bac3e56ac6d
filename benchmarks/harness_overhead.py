"""Harness overhead per step and prompt-cache share over a 30-turn scripted attempt.

Runs `agent fix` in-process (real Anthropic SDK -> the fake provider on loopback, real Docker
sandbox, real ledger) with a script of 30 tool-using turns, then reads the ledger:
  overhead per step = (loop wall time - model time - command time) / turns
  cache share       = cache-read input tokens / all input tokens, as the fake's Anthropic
                      cache accounting reported them.
Usage: python benchmarks/harness_overhead.py [--sandbox docker|local] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

from rich.console import Console

from agent.core.events import ignore
from agent.fake_provider import FakeProvider
from agent.ledger import Ledger
from agent.simulate.script import Script
from agent.wiring import FixOptions, run_fix
from tasks.issues import IssueText

TURNS = 30


def make_repo(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    for number in range(20):
        (root / "pkg" / f"mod{number}.py").write_text(module_text(number))
    (root / "tests").mkdir()
    (root / "tests" / "test_pkg.py").write_text("from pkg.mod1 import f1\n\n\ndef test_f1():\n    assert f1(1) == 2\n")
    env = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env={**os.environ, **env})
    return root


def module_text(number: int) -> str:
    """A module of realistic size (about 60 lines): what a model reads on a typical step."""
    functions = "\n\n".join(
        f"def f{number}_{index}(values, scale={index}):\n"
        f'    """Scale the positive values of `values` by {index} and add {number}."""\n'
        f"    result = []\n    for value in values:\n        if value > 0:\n"
        f"            result.append(value * scale + {number})\n    return result\n"
        for index in range(8)
    )
    header = f'"""Module {number}: helpers for scaling values."""\n\n\n'
    return f"{header}{functions}\n\n\ndef f{number}(x):\n    return x + {number}\n"


def script() -> Script:
    turns = []
    for number in range(TURNS - 1):
        call = (
            {"name": "bash", "input": {"command": f"grep -n return pkg/mod{number % 20}.py"}}
            if number % 2
            else {
                "name": "str_replace_based_edit_tool",
                "input": {"command": "view", "path": f"pkg/mod{number % 20}.py"},
            }
        )
        turns.append({"text": f"Step {number}: looking at module {number % 20}.", "tool_calls": [call]})
    turns.append({"text": "Done."})
    return Script.model_validate({"rules": [{"turns": turns}]})


def measure(sandbox: str, workdir: Path) -> dict[str, float]:
    repo = make_repo(workdir / "repo")
    ledger_path = workdir / "ledger.sqlite"
    with FakeProvider(script()) as fake:
        env = {"ANTHROPIC_BASE_URL": fake.anthropic_base_url, "ANTHROPIC_API_KEY": "bench"}
        options = FixOptions(
            repo=repo,
            ladder="claude-opus-4-7@high",
            test_cmd="python -m pytest -q",
            sandbox=sandbox,
            ledger=ledger_path,
        )
        issue = IssueText(title="Benchmark issue", body="Read every module.", source="bench")
        result, failure = run_fix(issue, options, env, Console(quiet=True), ignore)
        assert failure is None, failure
    ledger = Ledger(ledger_path)
    finished = ledger.events(result["run_id"], kinds=("attempt_finished",))[0].data
    calls = [call for attempt in ledger.attempts(result["run_id"]) for call in ledger.calls(attempt.id)]
    overhead = finished["loop_s"] - finished["model_s"] - finished["command_s"]
    return {
        "turns": finished["turns"],
        "loop_s": finished["loop_s"],
        "model_s": finished["model_s"],
        "command_s": finished["command_s"],
        "overhead_ms_per_step": 1000 * overhead / finished["turns"],
        "cache_share": sum(c.usage.cache_read_tokens for c in calls) / sum(c.usage.input_tokens for c in calls),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sandbox", default="docker")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["AGENT_HOME"] = tmp
            runs.append(measure(args.sandbox, Path(tmp)))
    print(f"harness overhead over a {TURNS}-turn scripted attempt ({args.sandbox} sandbox, {args.repeat} runs)")
    for key in ("turns", "loop_s", "model_s", "command_s", "overhead_ms_per_step", "cache_share"):
        values = [run[key] for run in runs]
        print(f"  {key:22} median {statistics.median(values):.4f}  (min {min(values):.4f}, max {max(values):.4f})")


if __name__ == "__main__":
    main()
