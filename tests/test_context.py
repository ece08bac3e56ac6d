"""The view a long attempt sends: old tool results masked in blocks, a stable prefix, summaries."""

from __future__ import annotations

from agent.core.messages import Message, TextBlock, ToolCall, ToolResult
from agent.engine.condensers.view import ContextView, Summary, placeholder


def turn(number: int, output_chars: int, command: str | None = None) -> list[Message]:
    call = ToolCall(id=f"c{number}", name="bash", input={"command": command or f"cat file{number}.txt"})
    output = f"line one of {number}\n" + "x" * output_chars + "\n[exit code 1]"
    return [
        Message(role="assistant", content=[TextBlock(text=f"Step {number}."), call]),
        Message(role="user", content=[ToolResult(tool_call_id=call.id, output=output, is_error=True)]),
    ]


def conversation(turns: int, output_chars: int = 4000) -> list[Message]:
    messages = [Message.user("Fix the bug.")]
    for number in range(1, turns + 1):
        messages.extend(turn(number, output_chars))
    return messages


def outputs(view: list[Message]) -> list[str]:
    return [block.output for message in view for block in message.content if isinstance(block, ToolResult)]


def test_a_placeholder_keeps_the_command_the_exit_code_and_the_first_line():
    [_, results] = turn(7, 400, command="python -m pytest -q tests/test_ops.py")
    result = results.content[0]
    assert isinstance(result, ToolResult)
    call = ToolCall(id="c7", name="bash", input={"command": "python -m pytest -q tests/test_ops.py"})
    masked = placeholder(result, call)
    assert masked.output == (
        "[output elided to save context — bash: python -m pytest -q tests/test_ops.py; exit code 1; "
        "first line: 'line one of 7'; 3 lines elided]"
    )
    assert (masked.tool_call_id, masked.is_error) == ("c7", True)


def test_nothing_is_masked_while_the_results_fit_the_window():
    messages = conversation(4)  # 4 x ~1,000 tokens
    view = ContextView(keep_tokens=8000)
    assert view.update(messages) is None
    assert view.view(messages) == messages


def test_the_boundary_moves_in_blocks_and_the_masked_prefix_never_changes_afterwards():
    view, messages = ContextView(keep_tokens=8000, mask_to=0.25), conversation(0)
    moves, prefixes = [], []
    for number in range(1, 41):
        messages.extend(turn(number, 4000))
        if (masking := view.update(messages)) is not None:
            moves.append(number)
            assert masking.kept_tokens <= 2000 + 1010  # mask_to of the window, and always the latest result
        sent = view.view(messages)
        prefixes.append(sent)
        assert sum(len(text) for text in outputs(sent)) <= 8000 * 4 + 1010 * 4  # bounded by the window
    # ~1,008 tokens a turn: the window overflows at the 8th full result; a move keeps only the latest
    # (a quarter of the window holds one), so the boundary moves once every 7 turns, not every turn.
    assert moves == [8, 15, 22, 29, 36]
    # Between two moves, each request's prefix is the previous request (so providers read it from cache).
    for number in range(1, 40):
        if number + 1 not in moves:
            before, after = prefixes[number - 1], prefixes[number]
            assert after[: len(before)] == before
    # The latest result is always sent in full.
    assert outputs(prefixes[-1])[-1].startswith("line one of 40")


def test_a_summary_replaces_the_oldest_turns_and_keeps_the_issue_first():
    messages = conversation(6, output_chars=100)
    view = ContextView(keep_tokens=100_000)
    cut = view.summary_cut(messages)
    assert cut is not None and messages[cut].role == "assistant"
    view.summarised(Summary(text="I read files 1-3; nothing changed yet.", upto=cut))
    sent = view.view(messages)
    assert sent[0].role == "user"
    assert sent[0].text.startswith("Fix the bug.")
    assert "I read files 1-3; nothing changed yet." in sent[0].text
    assert sent[1:] == messages[cut:]
    assert messages[0].text == "Fix the bug."  # the attempt's own messages are never changed
