"""A 100-turn attempt with realistic tool outputs, unbounded against masked, on both wires.

Runs `agent fix` in-process (the real SDKs -> the fake provider on loopback, local sandbox, real
ledger) at max effort on a script of 100 turns: 96 reads whose outputs are 2-8 KB (`cat` of
modules of those sizes), then the fix, the tests and "Done.". Once with every tool result sent
in full (context_tokens far above the attempt), once with the shipped masking (context_tokens
at max effort). From the ledger and the fake's own usage accounting: total input tokens, the
cache share (cache-read / all input tokens; Anthropic breakpoints, OpenAI/DeepSeek prefixes),
API $, the peak prompt, and whether the scripted fix passed.
Usage: python benchmarks/long_attempt.py
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
from pathlib import Path

from rich.console import Console

from agent.core.config import load_config
from agent.core.effort import EffortLevel
from agent.core.events import ignore
from agent.fake_provider import FakeProvider
from agent.ledger import Ledger
from agent.simulate.script import Script
from agent.wiring import FixOptions, run_fix
from tasks.issues import IssueText

TURNS = 100
READS = TURNS - 4
MODULES = 24
WIRES = {"anthropic": "claude-opus-4-7", "openai": "deepseek-v4-pro"}


def module_text(number: int, size: int) -> str:
    """A module of about `size` bytes of plausible code."""
    lines = [f'"""Module {number}: record parsing helpers."""', ""]
    index = 0
    while sum(len(line) + 1 for line in lines) < size:
        lines += [
            f"def parse_{number}_{index}(record, strict=False):",
            f'    """Parse field {index} of a record; strict mode rejects blanks."""',
            f"    value = record.get('field_{index}', '').strip()",
            "    if strict and not value:",
            f"        raise ValueError('field_{index} is blank')",
            "    return value",
            "",
        ]
        index += 1
    return "\n".join(lines) + "\n"


def make_repo(root: Path) -> Path:
    sizes = random.Random(7)
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    for number in range(MODULES):
        (root / "pkg" / f"mod{number}.py").write_text(module_text(number, sizes.randint(2000, 8000)))
    (root / "pkg" / "ops.py").write_text("def add(a, b):\n    return a - b\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_ops.py").write_text(
        "from pkg.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    env = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env={**os.environ, **env})
    return root


def script() -> Script:
    turns: list[dict] = []
    for number in range(READS):
        command = f"cat pkg/mod{number % MODULES}.py"
        turns.append(
            {
                "text": f"Reading module {number % MODULES}.",
                "tool_calls": [{"name": "bash", "input": {"command": command}}],
            }
        )
    fix = {"command": "str_replace", "path": "pkg/ops.py", "old_str": "a - b", "new_str": "a + b"}
    turns.append({"text": "Fixing add().", "tool_calls": [{"name": "str_replace_based_edit_tool", "input": fix}]})
    turns.append(
        {"text": "Running the tests.", "tool_calls": [{"name": "bash", "input": {"command": "python -m pytest -q"}}]}
    )
    turns.append({"text": "Checking the diff.", "tool_calls": [{"name": "bash", "input": {"command": "git diff"}}]})
    turns.append({"text": "Done."})
    return Script.model_validate({"rules": [{"turns": turns}]})


def measure(wire: str, masked: bool, workdir: Path) -> dict[str, float | str]:
    repo = make_repo(workdir / "repo")
    ledger_path = workdir / "ledger.sqlite"
    model = WIRES[wire]
    if not masked:  # every result in full: a window no attempt here reaches
        (repo / "agent.toml").write_text(
            "[efforts.max]\nmax_turns = 100\nmax_tokens = 64000\ncontext_tokens = 100000000\n"
        )
        subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
        subprocess.run(
            ["git", "-C", str(repo), "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "c"], check=True
        )
    with FakeProvider(script()) as fake:
        env = (
            {"ANTHROPIC_BASE_URL": fake.anthropic_base_url, "ANTHROPIC_API_KEY": "bench"}
            if wire == "anthropic"
            else {"DEEPSEEK_BASE_URL": fake.openai_base_url, "DEEPSEEK_API_KEY": "bench"}
        )
        options = FixOptions(
            repo=repo, ladder=f"{model}@max", test_cmd="python -m pytest -q", sandbox="local", ledger=ledger_path
        )
        issue = IssueText(title="add() returns the wrong sum", body="Read the package, then fix add().", source="bench")
        result, failure = run_fix(issue, options, env, Console(quiet=True), ignore)
        assert failure is None, failure
    ledger = Ledger(ledger_path)
    calls = [call for attempt in ledger.attempts(result["run_id"]) for call in ledger.calls(attempt.id)]
    total = sum(call.usage.input_tokens for call in calls)
    read = sum(call.usage.cache_read_tokens for call in calls)
    masks = ledger.events(result["run_id"], kinds=("context_masked",))
    return {
        "turns": len(calls),
        "input_tokens": total,
        "cache_share": read / total,
        "api_usd": float(sum(call.cost_usd or 0 for call in calls)),
        "peak_prompt": max(call.usage.input_tokens for call in calls),
        "boundary_moves": len(masks),
        "solved": "yes" if result["solved"] else "NO",
    }


def main() -> None:
    window = load_config(env={"AGENT_HOME": "/nonexistent", "AGENT_CONFIG": os.devnull}).efforts[EffortLevel.MAX]
    where = f"local sandbox, context_tokens = {window.context_tokens:,}"
    print(f"100-turn attempt at max effort, 96 reads of 2-8 KB ({where})")
    for wire, model in WIRES.items():
        rows = {}
        for masked in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                os.environ["AGENT_HOME"] = tmp
                rows["masked" if masked else "unbounded"] = measure(wire, masked, Path(tmp))
        print(f"{wire} wire ({model})")
        print(f"  {'':16} {'unbounded':>14} {'masked':>14}")
        for key in rows["masked"]:
            full, masked_value = rows["unbounded"][key], rows["masked"][key]
            if isinstance(full, float) and key == "cache_share":
                print(f"  {key:16} {full:14.3f} {masked_value:14.3f}")
            elif isinstance(full, float):
                print(f"  {key:16} {full:14.4f} {masked_value:14.4f}")
            elif isinstance(full, int):
                print(f"  {key:16} {full:14,} {masked_value:14,}")
            else:
                print(f"  {key:16} {full:>14} {masked_value:>14}")
        ratio = rows["masked"]["input_tokens"] / rows["unbounded"]["input_tokens"]  # type: ignore[operator]
        print(f"  masked / unbounded input tokens: {ratio:.3f}")


if __name__ == "__main__":
    main()
