"""What the fallback router adds to a turn: reply validation, and a fallback hop.

1. Validation: `ReplyValidator.check` on the replies of a realistic attempt (bash commands,
   editor views, a 2 KB str_replace, an 8 KB create), timed in-process: microseconds per turn.
2. The fallback hop: `agent fix` in-process (real OpenAI SDK -> the fake provider on loopback,
   local sandbox, real ledger) on a 12-turn script, once as is and once with the cheap model
   sending bad JSON on turns 2 and 3 before it falls back to the other model. From the ledger: the
   end-to-end latency of the turn that fell back (`calls.turn_s`) against the other turns, the
   model calls in it, and the sandbox commands run for its invalid replies (tool results that took time).
Usage: python benchmarks/fallback_router.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console

from agent.core.events import ignore
from agent.core.messages import ModelTurn, ToolCall
from agent.core.tool_specs import STANDARD_TOOLS
from agent.engine.validation import ReplyValidator
from agent.fake_provider import FakeProvider
from agent.ledger import Ledger
from agent.simulate.script import Script
from agent.wiring import FixOptions, run_fix
from benchmarks.harness_overhead import make_repo
from tasks.issues import IssueText

TURNS = 12
BAD_JSON = {"text": "", "tool_calls": [{"name": "bash", "raw_arguments": '{"command": ls}'}]}


def replies() -> list[ModelTurn]:
    """One attempt's worth of valid replies, of the sizes models send."""
    old = "\n".join(f"    value_{line} = compute({line}, scale)" for line in range(50))
    calls = [
        ToolCall(id="1", name="bash", input={"command": "grep -rn 'def add' calc/ | head -20"}),
        ToolCall(id="2", name="str_replace_based_edit_tool", input={"command": "view", "path": "calc/ops.py"}),
        ToolCall(
            id="3",
            name="str_replace_based_edit_tool",
            input={"command": "str_replace", "path": "calc/ops.py", "old_str": old, "new_str": old.upper()},
        ),
        ToolCall(
            id="4",
            name="str_replace_based_edit_tool",
            input={"command": "create", "path": "calc/new.py", "file_text": old * 4},
        ),
        ToolCall(id="5", name="bash", input={"command": "python -m pytest -q"}),
    ]
    return [ModelTurn(text=f"Step {number}.", tool_calls=[call]) for number, call in enumerate(calls)]


def validation_us(rounds: int = 2000) -> dict[str, float]:
    """Microseconds per `check`, for each kind of reply and over all of them."""
    turns = replies()
    timings: dict[str, list[float]] = {}
    for _ in range(rounds):
        validator = ReplyValidator(STANDARD_TOOLS)
        for turn in turns:
            started = time.perf_counter()
            validator.check(turn, turns_left=True)
            key = f"{turn.tool_calls[0].name} {turn.tool_calls[0].input.get('command', '')[:14]}"
            timings.setdefault(key, []).append((time.perf_counter() - started) * 1e6)
    every = [value for values in timings.values() for value in values]
    return {
        **{key: statistics.median(values) for key, values in timings.items()},
        "all (median)": statistics.median(every),
    }


def script(with_faults: bool) -> Script:
    steps = [
        {"text": f"Step {number}.", "tool_calls": [{"name": "bash", "input": {"command": f"ls pkg | head -{number}"}}]}
        for number in range(1, TURNS)
    ]
    cheap = [steps[0], BAD_JSON, BAD_JSON, *steps[1:]] if with_faults else steps
    return Script.model_validate(
        {
            "rules": [
                {"model": "deepseek-v4-flash", "turns": [*cheap, {"text": "Done."}]},
                {"model": "deepseek-v4-pro", "turns": [*steps, {"text": "Done."}]},
            ]
        }
    )


def measure(with_faults: bool, workdir: Path) -> dict[str, float]:
    repo = make_repo(workdir / "repo")
    ledger_path = workdir / "ledger.sqlite"
    with FakeProvider(script(with_faults)) as fake:
        env = {"DEEPSEEK_BASE_URL": fake.openai_base_url, "DEEPSEEK_API_KEY": "bench"}
        options = FixOptions(
            repo=repo,
            ladder="deepseek-v4-flash@high",
            fallback="deepseek-v4-pro@high",
            test_cmd="python -m pytest -q",
            sandbox="local",
            ledger=ledger_path,
        )
        issue = IssueText(title="Benchmark issue", body="List the package.", source="bench")
        result, failure = run_fix(issue, options, env, Console(quiet=True), ignore)
        assert failure is None, failure
    ledger = Ledger(ledger_path)
    [attempt] = ledger.attempts(result["run_id"])
    calls = ledger.calls(attempt.id)
    turns = [call.turn_s for call in calls if call.turn_s is not None]
    fallbacks = ledger.fallbacks(attempt.id)
    hop: dict[str, float] = {}
    if fallbacks:
        # The turn that fell back: from the first invalid reply to the fallback model's valid one.
        first_invalid = next(index for index, call in enumerate(calls) if call.validation)
        ended = next(index for index, call in enumerate(calls) if index > first_invalid and call.turn_s is not None)
        invalid_turns = {call.turn for call in calls[first_invalid:ended]}
        results = ledger.events(result["run_id"], kinds=("tool_result",))
        hop = {
            "hop_turn_ms": 1000 * (calls[ended].turn_s or 0.0),
            "hop_model_calls": ended - first_invalid + 1,
            "commands_for_invalid": sum(
                1 for event in results if event.data["turn"] in invalid_turns and event.data["seconds"] > 0
            ),
        }
        turns.remove(calls[ended].turn_s)
    return {"other_turns_median_ms": 1000 * statistics.median(turns), **hop}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("validation per reply (microseconds, median of 2000 rounds)")
    for key, value in validation_us().items():
        print(f"  {key:44} {value:8.1f}")
    for with_faults in (False, True):
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                os.environ["AGENT_HOME"] = tmp
                runs.append(measure(with_faults, Path(tmp)))
        title = "bad JSON on turns 2-3, then the fallback" if with_faults else "no invalid reply"
        print(f"{TURNS}-turn attempt, {title} (local sandbox, OpenAI wire, {args.repeat} runs)")
        for key in runs[0]:
            values = [run[key] for run in runs]
            print(f"  {key:24} median {statistics.median(values):8.2f}  (min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
