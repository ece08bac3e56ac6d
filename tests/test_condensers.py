"""Each condenser on its own and in a pipeline: the latest test run keeps its tail when masked, the plan
survives a summary, and masking keeps the conversation's indices for the summary after it."""

from __future__ import annotations

from agent.core.messages import Message, TextBlock, ToolCall, ToolResult
from agent.engine.condensers.masking import ObservationMasking
from agent.engine.condensers.pipeline import Pipeline
from agent.engine.condensers.summarising import Summarising, Summary

PYTEST_TAIL = "FAILED tests/test_ops.py::test_add - assert 3 == 5\n1 failed, 4 passed in 0.03s"


def turn(number: int, command: str, output: str, text: str = "") -> list[Message]:
    call = ToolCall(id=f"c{number}", name="bash", input={"command": command})
    return [
        Message(role="assistant", content=[TextBlock(text=text or f"Step {number}."), call]),
        Message(role="user", content=[ToolResult(tool_call_id=call.id, output=output)]),
    ]


def conversation() -> list[Message]:
    tests = "collected 5 items\n" + "." * 3000 + "\n" + PYTEST_TAIL + "\n[exit code 1]"
    return [
        Message.user("Fix the bug."),
        *turn(1, "cat calc/ops.py", "def add(a, b):\n" + "#" * 3000, text="Plan: read ops.py, fix add, run tests."),
        *turn(2, "python -m pytest -q", tests),
        *turn(3, "cat README.md", "readme\n" + "r" * 3000),
        *turn(4, "git diff", "diff\n" + "d" * 3000),
    ]


def results(view: list[Message]) -> list[str]:
    return [block.output for message in view for block in message.content if isinstance(block, ToolResult)]


def test_the_latest_test_run_keeps_its_tail_when_masked_and_other_results_only_their_first_line():
    messages, masking = conversation(), ObservationMasking(keep_tokens=1000, mask_to=0.25)
    assert masking.update(messages) is not None
    opened, tests, readme, diff = results(masking.condense(messages))
    assert PYTEST_TAIL in tests and tests.startswith("[output elided to save context — bash: python -m pytest -q")
    assert opened.startswith("[output elided") and "[its last lines]" not in opened
    assert "[its last lines]" not in readme
    assert diff.startswith("diff\n")  # the latest result stays in full


def test_the_plan_survives_a_summary_of_the_turns_that_held_it():
    messages, summarising = conversation(), Summarising()
    summarising.summary = Summary(text="I fixed add.", upto=5)
    view = summarising.condense(messages)
    assert "Plan: read ops.py, fix add, run tests." in view[0].text
    assert "I fixed add." in view[0].text
    assert view[1:] == messages[5:]


def test_the_pipeline_masks_then_summarises_on_the_same_indices():
    messages = conversation()
    masking, summarising = ObservationMasking(keep_tokens=1000, mask_to=0.25), Summarising()
    masking.update(messages)
    summarising.summary = Summary(text="Read ops.py and ran the tests.", upto=5)
    view = Pipeline(masking, summarising).condense(messages)
    assert len(view) == 1 + len(messages) - 5
    assert results(view) == results(masking.condense(messages))[2:]
