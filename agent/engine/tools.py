"""Executes the model's tool calls (`bash`, `str_replace_based_edit_tool`) inside a sandbox.

Every failure becomes an error ToolResult for the model to read; nothing here raises into the
loop except a dead sandbox. Malformed calls (unknown tool, bad JSON, missing field) are flagged
so the loop can count them.

The editor's logic (uniqueness of `old_str`, line ranges, snippets) runs here; only its file I/O
goes to the sandbox, as exact bytes in one round trip per read or write when the sandbox offers
`ByteFiles` (both built-in sandboxes do), else through the `Sandbox` protocol alone.
"""

from __future__ import annotations

import errno
import posixpath
import shlex
import time

from pydantic import BaseModel

from agent.core.messages import ToolCall, ToolResult
from agent.core.protocols import ByteFiles, ExecResult, Sandbox

EDITOR_COMMANDS = ("view", "create", "str_replace", "insert")

MAX_EDIT_BYTES = 1 << 20
"""The largest file the editor reads or writes (1 MiB); the model is told to use bash beyond it."""

LARGE_FILE_HINT = "use bash for a file this large (for example grep -n, sed -n '100,200p', sed -i)"


class ToolOutcome(BaseModel):
    result: ToolResult
    malformed: bool = False
    exec_result: ExecResult | None = None
    seconds: float = 0.0


class ToolInputError(Exception):
    """The call's input is malformed (missing or wrongly typed field)."""


def _field(call: ToolCall, name: str, kind: type | tuple[type, ...] = str) -> object:
    if name not in call.input:
        raise ToolInputError(f"missing required field {name!r} for {call.name}")
    value = call.input[name]
    if not isinstance(value, kind):
        raise ToolInputError(f"field {name!r} has the wrong type ({type(value).__name__})")
    return value


class ToolRunner:
    """Runs tool calls in one sandbox with one command timeout."""

    def __init__(self, sandbox: Sandbox, command_timeout: float) -> None:
        self.sandbox = sandbox
        self.command_timeout = command_timeout
        self._files = sandbox if isinstance(sandbox, ByteFiles) else None

    def run(self, call: ToolCall) -> ToolOutcome:
        """Run one call; `seconds` is the wall time spent on it, sandbox round trips included."""
        started = time.perf_counter()
        outcome = self._run(call)
        outcome.seconds = time.perf_counter() - started
        return outcome

    def _run(self, call: ToolCall) -> ToolOutcome:
        def error(text: str, malformed: bool = False) -> ToolOutcome:
            return ToolOutcome(
                result=ToolResult(tool_call_id=call.id, output=f"Error: {text}", is_error=True),
                malformed=malformed,
            )

        if call.error:
            return error(call.error, malformed=True)
        try:
            if call.name == "bash":
                return self._bash(call)
            if call.name == "str_replace_based_edit_tool":
                output = self._edit(call)
                return ToolOutcome(result=ToolResult(tool_call_id=call.id, output=output))
        except ToolInputError as exc:
            return error(str(exc), malformed=True)
        except EditError as exc:
            return error(str(exc))
        return error(f"unknown tool {call.name!r}: use bash or str_replace_based_edit_tool", malformed=True)

    def _bash(self, call: ToolCall) -> ToolOutcome:
        command = str(_field(call, "command"))
        result = self.sandbox.exec(command, timeout=self.command_timeout)
        text = result.output
        if result.timed_out:
            text += f"\n[command timed out after {self.command_timeout:g}s and was killed]"
        elif result.exit_code != 0:
            text += f"\n[exit code {result.exit_code}]"
        return ToolOutcome(
            result=ToolResult(tool_call_id=call.id, output=text or "[no output]", is_error=result.exit_code != 0),
            exec_result=result,
        )

    # editor --------------------------------------------------------------------------------
    def _path(self, call: ToolCall) -> str:
        raw = str(_field(call, "path"))
        root = self.sandbox.workdir
        path = posixpath.normpath(raw if raw.startswith("/") else posixpath.join(root, raw))
        if path != root and not path.startswith(root + "/"):
            raise EditError(f"{raw} is outside the repository {root}; work only inside it")
        return path

    def _read(self, path: str) -> str:
        try:
            return self._read_bytes(path).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EditError(f"cannot read {path}: {exc}; it is not UTF-8 text: use bash for it") from None
        except IsADirectoryError:
            raise _Directory(f"{path} does not exist or is not a file") from None
        except (FileNotFoundError, NotADirectoryError):
            raise EditError(f"{path} does not exist or is not a file") from None
        except OSError as exc:
            if exc.errno == errno.EFBIG:
                raise EditError(f"cannot read {path}: {exc.strerror}; {LARGE_FILE_HINT}") from None
            raise EditError(f"cannot read {path}: {exc}") from None

    def _read_bytes(self, path: str) -> bytes:
        if self._files is not None:
            return self._files.read_bytes(path, MAX_EDIT_BYTES)
        quoted = shlex.quote(path)
        probe = self.sandbox.exec(
            f"if [ -d {quoted} ]; then echo D; elif [ -f {quoted} ]; then wc -c < {quoted}; fi", timeout=30
        )
        status = probe.output.strip()
        if status == "D":
            raise IsADirectoryError(path)
        if not status:
            raise FileNotFoundError(path)
        if status.isdigit() and int(status) > MAX_EDIT_BYTES:
            raise OSError(errno.EFBIG, f"file is over the limit of {MAX_EDIT_BYTES} bytes")
        return self.sandbox.read_file(path).encode()

    def _edit(self, call: ToolCall) -> str:
        command = str(_field(call, "command"))
        if command not in EDITOR_COMMANDS:
            raise ToolInputError(f"unknown editor command {command!r}: use one of {', '.join(EDITOR_COMMANDS)}")
        path = self._path(call)
        if command == "view":
            return self._view(path, call.input.get("view_range"))
        if command == "create":
            text = str(_field(call, "file_text"))
            self._write(path, text)
            return f"File created: {path}"
        if command == "str_replace":
            old = str(_field(call, "old_str"))
            new = call.input.get("new_str", "")
            if not isinstance(new, str):
                raise ToolInputError("field 'new_str' must be a string")
            content = self._read(path)
            count = content.count(old)
            if count == 0:
                raise EditError(f"old_str was not found in {path}; view the file and copy the text exactly")
            if count > 1:
                raise EditError(f"old_str occurs {count} times in {path}; include more context to make it unique")
            self._write(path, content.replace(old, new, 1))
            return f"Edited {path}\n" + self._snippet(content.replace(old, new, 1), content.index(old), new)
        line = _field(call, "insert_line", int)
        new = str(_field(call, "new_str"))
        lines = self._read(path).split("\n")
        assert isinstance(line, int)
        if not 0 <= line <= len(lines):
            raise EditError(f"insert_line {line} is outside 0..{len(lines)}")
        lines[line:line] = new.split("\n")
        self._write(path, "\n".join(lines))
        return f"Inserted {len(new.splitlines()) or 1} line(s) after line {line} of {path}"

    def _write(self, path: str, text: str) -> None:
        try:
            data = text.encode()
        except UnicodeEncodeError as exc:
            raise EditError(
                f"cannot write {path}: the text is not valid Unicode ({exc.reason}); send it again"
            ) from None
        if len(data) > MAX_EDIT_BYTES:
            raise EditError(
                f"cannot write {path}: the new content is {len(data)} bytes, over the editor's limit of "
                f"{MAX_EDIT_BYTES} bytes; {LARGE_FILE_HINT}"
            )
        try:
            if self._files is not None:
                self._files.write_bytes(path, data)
            else:
                self.sandbox.write_file(path, text)
        except OSError as exc:
            raise EditError(f"cannot write {path}: {exc}") from None

    def _view(self, path: str, view_range: object) -> str:
        try:
            lines = self._read(path).split("\n")
        except _Directory:
            listing = f"find {shlex.quote(path)} -maxdepth 2 -not -path '*/.git*' | sort"
            return self.sandbox.exec(listing, timeout=30).output
        start, end = 1, len(lines)
        if view_range is not None:
            if (
                not isinstance(view_range, list)
                or len(view_range) != 2
                or not all(isinstance(n, int) for n in view_range)
            ):
                raise ToolInputError("view_range must be [start, end]")
            start, end = view_range[0], (len(lines) if view_range[1] == -1 else view_range[1])
            if not 1 <= start <= max(end, 1) or end > len(lines):
                raise EditError(f"view_range {view_range} is outside 1..{len(lines)}")
        return "\n".join(f"{number:6}\t{lines[number - 1]}" for number in range(start, end + 1))

    @staticmethod
    def _snippet(content: str, offset: int, new: str, context: int = 3) -> str:
        first = content[:offset].count("\n")
        last = first + new.count("\n")
        lines = content.split("\n")
        low, high = max(0, first - context), min(len(lines), last + context + 1)
        return "\n".join(f"{number + 1:6}\t{lines[number]}" for number in range(low, high))


class EditError(Exception):
    """An editor command that cannot be carried out (reported to the model, not malformed)."""


class _Directory(EditError):
    """The path is a directory: `view` lists it; for the other commands it is not a file."""
