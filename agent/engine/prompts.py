"""The texts the model sees: system prompt, the task message, and the escalation summary."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from agent.engine.verdict import name_list


class EarlierAttempt(BaseModel):
    rung: str
    outcome: str
    plan: str
    tests: str


SYSTEM = """You are an expert software engineer fixing an issue in a git repository.

The repository is checked out at {workdir} inside an isolated sandbox. Work only inside {workdir}.
You have two tools: `bash` (a persistent shell; cd and export carry over) and
`str_replace_based_edit_tool` (view/create/str_replace/insert files).

Rules:
- Start by stating your plan: where you think the fault is, which files you will read and change,
  and how you will verify the fix.
- Make the smallest change that fixes the issue; keep the code style of the repository.
- Run the tests ({test_cmd}) to check your work.
- When you are done, reply without calling a tool. The harness then runs the tests itself.
"""

ESCALATION = """
Earlier attempts at this issue failed. Learn from them; do not repeat what did not work.
{attempts}
"""


REPRODUCE = """
Every test passes on the current code, so none shows the issue. Your first job is a reproduction:
add a test (in the repository's test suite) that fails on the current code because of the issue,
run it and see it fail; then fix the code so that it passes. The harness runs your test without
your fix (it must fail) and with it (it must pass), and delivers it with the fix.
"""

FAILING = """
At the base commit these tests fail: {tests}.
A fix must make the ones about this issue pass without breaking any test that passes now.
"""


def system_prompt(
    workdir: str, test_cmd: str, earlier: list[EarlierAttempt], *, failing: Sequence[str] = (), reproduce: bool = False
) -> str:
    text = SYSTEM.format(workdir=workdir, test_cmd=test_cmd)
    if reproduce:
        text += REPRODUCE
    elif failing:
        text += FAILING.format(tests=name_list(failing, 20))
    if earlier:
        lines = [
            f"- Attempt {number} ({attempt.rung}) ended {attempt.outcome}. Its plan: "
            f"{_clip(attempt.plan, 600)}\n  Tests afterwards: {_clip(attempt.tests, 600)}"
            for number, attempt in enumerate(earlier, start=1)
        ]
        text += ESCALATION.format(attempts="\n".join(lines))
    return text


def task_message(title: str, body: str) -> str:
    return (
        f"<issue>\n# {title}\n\n{body.strip()}\n</issue>\n\n"
        "First reply with your plan (fault location, files to read and change, how you will verify), "
        "then carry it out with the tools."
    )


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
