"""What each turn of a simulated (`sim-*`) attempt says and does, as a `ScriptedTurn` for the fake provider.

Each turn does its action on the attempt's path (`agent.simulate.sim_paths.attempt_path`: when it
reads, runs the tests, edits and finishes, drawn around the shape's N turns). Turn 0 states the plan
and reads a file the gold patch touches, later reading turns read more of them, a test turn runs the
task's tests with its test patch applied for the run (`test_command`), the last turn ends without a
tool call. A passing attempt's edit applies the task's gold patch with `git apply` (as the oracle does); a
failing one appends a harmless comment to a file the gold patch changes (never one the task's test
patch touches), so its diff is not empty and review time is billed. Every turn reports the shape's
output and thinking tokens, capped at the request's max_tokens as a real service would.
"""

from __future__ import annotations

import hashlib
import re
import shlex

from agent.core.effort import EffortLevel
from agent.simulate.population import Population, attempt_passes, attempt_shape
from agent.simulate.script import ScriptedToolCall, ScriptedTurn
from agent.simulate.sim_paths import attempt_path
from tasks.models import Task

_OLD_SIDE = re.compile(r"^--- a/(\S+)$", re.MULTILINE)
_NEW_SIDE = re.compile(r"^\+\+\+ b/(\S+)$", re.MULTILINE)
_COMMENT = {".py": "# {}", ".md": "{}", ".rst": "{}", ".txt": "{}", ".js": "// {}", ".ts": "// {}"}
WRONG_EDIT_NOTE = "reviewed for the reported issue; no change needed here"
FALLBACK_FILE = "SIM_NOTES.md"


def changed_files(patch: str) -> list[str]:
    """Files a unified git diff writes: the ones it modifies first (they exist at the base), then new ones."""
    old, new = _OLD_SIDE.findall(patch), _NEW_SIDE.findall(patch)
    return list(dict.fromkeys([*(name for name in new if name in old), *new]))


def wrong_edit_file(task: Task) -> str:
    """A file the gold patch changes and the test patch does not (a Python one when there is one)."""
    tests = set(changed_files(task.test_patch))
    candidates = [name for name in changed_files(task.patch) if name not in tests]
    python = [name for name in candidates if name.endswith(".py")]
    return (python or candidates or [FALLBACK_FILE])[0]


def wrong_edit_command(task: Task) -> str:
    """Append a useless comment line to `wrong_edit_file(task)`."""
    name = wrong_edit_file(task)
    suffix = name[name.rfind(".") :] if "." in name else ""
    line = _COMMENT.get(suffix, "# {}").format(WRONG_EDIT_NOTE)
    return f"printf '\\n%s\\n' {shlex.quote(line)} >> {shlex.quote(name)}"


def apply_command(patch: str) -> str:
    """`git apply` the patch from a heredoc whose marker cannot occur in it."""
    marker = f"AGENT_SIM_{hashlib.sha256(patch.encode()).hexdigest()[:12]}"
    return f"git apply --whitespace=nowarn - <<'{marker}'\n{patch}\n{marker}"


def read_command(task: Task, turn_index: int) -> str:
    """Page through the changed files, 60 lines a turn (never the same command twice in a row)."""
    files = changed_files(task.patch) or ["."]
    name = shlex.quote(files[turn_index % len(files)])
    start = 1 + 60 * (turn_index // len(files))
    return f"sed -n '{start},{start + 59}p' {name} 2>/dev/null || ls"


def test_command(task: Task) -> str:
    """Run the task's tests as the judge would: its test patch applied for the run and taken back after
    (in a subshell, so the diff is left as it was), so a run passes exactly when the fix is right."""
    command = task.test_cmd or "python -m pytest -q"
    if not task.test_patch.strip():
        return command
    marker = f"AGENT_SIM_TESTS_{hashlib.sha256(task.test_patch.encode()).hexdigest()[:12]}"
    return (
        f"(patch=$(mktemp) && cat > \"$patch\" <<'{marker}'\n{task.test_patch}\n{marker}\n"
        f'git apply --whitespace=nowarn "$patch" 2>/dev/null; applied=$?; {command}; code=$?; '
        f'[ $applied -eq 0 ] && git apply -R --whitespace=nowarn "$patch"; rm -f "$patch"; exit $code)'
    )


def sim_turn(
    population: Population,
    task: Task,
    model: str,
    effort: EffortLevel,
    attempt_index: int,
    turn_index: int,
    max_tokens: int | None = None,
) -> ScriptedTurn:
    """Turn `turn_index` (0-based) of the attempt numbered `attempt_index` of `model@effort` on `task`."""
    shape = attempt_shape(population, task, effort)
    output = min(shape.output_tokens, max_tokens) if max_tokens else shape.output_tokens
    tokens = {"output_tokens": output, "reasoning_tokens": min(shape.reasoning_tokens, output)}
    passes = attempt_passes(population, task, model, effort, attempt_index)
    path = attempt_path(population, task, model, effort, attempt_index)
    files = ", ".join(changed_files(task.patch)) or "the repository"
    action = path.action(turn_index)
    if action == "finish":
        text = "Applied the fix; the tests should pass now." if passes else "Made my change; it should fix the issue."
        return ScriptedTurn(text=text, thinking="The change is in place.", **tokens)
    if action == "edit":
        command = apply_command(task.patch) if passes else wrong_edit_command(task)
        text, thinking = "Making the change.", f"I know what to change in {files}."
    elif action == "test":
        command, text, thinking = test_command(task), "Running the tests.", "Let me see what the tests say."
    else:
        command = read_command(task, turn_index)
        text = "Reading on."
        thinking = f"Reading {files} (turn {turn_index + 1} of about {shape.turns})."
    if turn_index == 0:
        text = f"Plan: the fault is in {files}; read it, fix it, then run the tests."
    return ScriptedTurn(
        text=text,
        thinking=thinking,
        tool_calls=[ScriptedToolCall(name="bash", input={"command": command})],
        **tokens,
    )
