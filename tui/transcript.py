"""The transcript: each attempt's plan, model text (streaming live), tool calls with trimmed output, test runs,
the router's invalid replies (dim) and fallbacks (a warning), when a long attempt's context was
masked or summarised, and when its provider was held (rate limited), released or paused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import RichLog, Static

from agent.core.events import Event

OUTPUT_LINES = 6
MAX_ENTRIES = 2000
LINE_CHARS = 400


def trim(text: str, lines: int = OUTPUT_LINES) -> str:
    """The last `lines` lines of `text`, each at most LINE_CHARS long, with a count of what was cut."""
    rows = [row if len(row) <= LINE_CHARS else row[: LINE_CHARS - 1] + "…" for row in text.rstrip().splitlines()]
    if len(rows) <= lines:
        return "\n".join(rows)
    return f"… {len(rows) - lines} more line(s)\n" + "\n".join(rows[-lines:])


def tool_line(name: str, data: dict[str, Any]) -> str:
    if name == "bash":
        return f"$ {data.get('command', '')}"
    command, path = data.get("command", ""), data.get("path", "")
    return f"edit {command} {path}".rstrip()


def counts_text(counts: dict[str, int] | None) -> str:
    return " · ".join(f"{number} {status}" for status, number in sorted((counts or {}).items()))


Entry = Callable[[dict[str, Any]], RenderableType | None]


def _attempt_started(data: dict[str, Any]) -> Text:
    rung = f"{data.get('model')}@{data.get('effort')}"
    return Text(
        f"── attempt {data.get('rung_index', 0) + 1}: {rung} (sent {data.get('effort_sent')}, "
        f"up to {data.get('max_turns')} turns) ──",
        style="bold cyan",
    )


def _assistant(data: dict[str, Any]) -> Text | None:
    """The model's text; the first turn's is the attempt's plan (the `plan` event repeats it)."""
    text = data.get("text", "").strip()
    label = ("PLAN ", "bold magenta") if data.get("turn") == 1 else ("model ", "bold")
    return Text.assemble(label, text) if text else None


def _tool_result(data: dict[str, Any]) -> Text:
    output = trim(data.get("output", ""))
    mark = "  ! error\n" if data.get("is_error") else ""
    return Text(mark + "\n".join("  " + row for row in output.splitlines()), style="dim")


def _work_patch(data: dict[str, Any]) -> Text:
    files, added, removed = data.get("files", 0), data.get("added", 0), data.get("removed", 0)
    return Text(f"  patch now: {files} file(s), +{added} -{removed}  (d shows it)", style="dim cyan")


def _tests(data: dict[str, Any]) -> Text:
    passed = bool(data.get("passed"))
    counts = counts_text(data.get("counts")) or "no counts"
    return Text.assemble(
        (f"TESTS {'PASS ✓' if passed else 'FAIL ✗'}  {counts}", "bold green" if passed else "bold red"),
        (f"\n  {data.get('why', '')}", "dim"),
    )


def _validation_failed(data: dict[str, Any]) -> Text:
    text = data.get("text") or f"invalid reply ({data.get('reason')})"
    return Text(f"  {text}", style="dim")


def _context_note(data: dict[str, Any]) -> Text:
    return Text(f"  {data.get('text', '')}", style="cyan")


def _fallback(data: dict[str, Any]) -> Text:
    text = data.get("text") or f"{data.get('from')} → {data.get('to')} ({data.get('reason')})"
    return Text(f"⤳ FALLBACK {text}", style="bold yellow")


def _issue_finished(data: dict[str, Any]) -> Text:
    status = data.get("status", "")
    where = f": branch {data['branch']}" if data.get("branch") else ""
    error = f": {data['error']}" if data.get("error") else ""
    return Text(f"== {status.upper()}{where}{error} ==", style="bold")


ENTRIES: dict[str, Entry] = {
    "environment_preparing": lambda data: Text("preparing environment ...", style="dim"),
    "environment_progress": lambda data: Text(f"  {data.get('text', '')}", style="dim"),
    "environment": lambda data: Text(f"environment: {data.get('text', '')}", style="dim"),
    "baseline": lambda data: Text(f"baseline tests: {data.get('summary', '')}", style="dim"),
    "baseline_note": lambda data: Text(f"baseline: {data.get('text', '')}", style="yellow"),
    "attempt_started": _attempt_started,
    "turn_started": lambda data: Text(f"turn {data.get('turn')}/{data.get('max_turns')}", style="dim"),
    "assistant": _assistant,
    "tool_call": lambda data: Text.assemble(
        ("→ ", "bold"), (tool_line(data.get("name", ""), data.get("input", {})), "bold")
    ),
    "tool_result": _tool_result,
    "work_patch": _work_patch,
    "tests": _tests,
    "attempt_finished": lambda data: Text(
        f"attempt ended: {data.get('outcome')} after {data.get('turns')} turn(s)", style="dim"
    ),
    "validation_failed": _validation_failed,
    "context_masked": _context_note,
    "context_summarised": _context_note,
    "fallback": _fallback,
    "attempt_abandoned": lambda data: Text(f"⤳ ABANDONED {data.get('text', '')}", style="bold yellow"),
    "escalation": lambda data: Text(
        f"↑ ESCALATING to {data.get('rung')} after {data.get('after')}", style="bold yellow"
    ),
    "rung_skipped": lambda data: Text(f"– skipped {data.get('rung')}: {data.get('reason')}", style="yellow"),
    "warning": lambda data: Text(f"warning: {data.get('text', '')}", style="yellow"),
    "provider_held": lambda data: Text(f"⏸ {data.get('text', '')}", style="bold yellow"),
    "provider_released": lambda data: Text(f"▶ {data.get('text', '')}", style="green"),
    "provider_paused": lambda data: Text(f"⏸ PAUSED {data.get('text', '')}", style="bold red"),
    "issue_finished": _issue_finished,
}
"""The transcript entry of each kind of event (None, or a kind not named here: nothing is written)."""


class Transcript(Vertical):
    """A scrolling log of finished entries with the model's text of the current turn below it."""

    def compose(self) -> ComposeResult:
        yield RichLog(id="log", wrap=True, markup=False, highlight=False, max_lines=2000, min_width=20)
        yield Static(id="stream")

    def on_mount(self) -> None:
        self.query_one("#stream", Static).display = False
        self._streamed = ""
        self._entries: list[RenderableType] = []
        self._width = 0

    def write(self, renderable: RenderableType) -> None:
        self._entries = [*self._entries[-(MAX_ENTRIES - 1) :], renderable]
        self.query_one("#log", RichLog).write(renderable)

    def on_resize(self) -> None:
        """Re-wrap every entry at the new width (RichLog keeps lines wrapped at the width they were written at)."""
        if self.size.width == self._width:
            return
        self._width = self.size.width
        log = self.query_one("#log", RichLog)
        log.clear()
        for entry in self._entries:
            log.write(entry)
        log.scroll_end(animate=False)

    def stream(self, text: str) -> None:
        """Add a `text_delta` (live runs only; the ledger keeps the whole turn's text instead)."""
        self._streamed += text
        stream = self.query_one("#stream", Static)
        stream.display = True
        stream.update(Text(self._streamed + " ▌", style="italic"))

    def show(self, event: Event) -> None:
        data, kind = event.data, event.kind
        if kind == "text_delta":
            self.stream(data.get("text", ""))
            return
        make = ENTRIES.get(kind)
        entry = None if make is None else make(data)
        if kind == "assistant":
            self._streamed = ""
            self.query_one("#stream", Static).display = False
        if entry is not None:
            self.write(entry)
