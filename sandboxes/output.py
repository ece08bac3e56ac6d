"""Capping command output: keep the first and last bytes, count what is cut, never hold it all."""

from __future__ import annotations


def cut_marker(cut: int) -> str:
    """The line that replaces the middle of a capped output."""
    return f"\n[... {cut} bytes of output cut ...]\n"


class OutputCap:
    """Collects a byte stream, keeping `head` bytes from the start and a rolling `tail` from the end.

    Memory stays under head + 2 * tail bytes however much is fed.
    """

    def __init__(self, head: int, tail: int) -> None:
        self.head_limit = max(head, 0)
        self.tail_limit = max(tail, 0)
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self.total += len(data)
        room = self.head_limit - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if not data or self.tail_limit == 0:
            return
        self._tail += data
        if len(self._tail) > 2 * self.tail_limit:
            del self._tail[: len(self._tail) - self.tail_limit]

    @property
    def truncated(self) -> bool:
        return self.total > len(self._head) + min(len(self._tail), self.tail_limit)

    def _kept_tail(self) -> bytes:
        return bytes(self._tail[-self.tail_limit :]) if self.tail_limit else b""

    def data(self) -> bytes:
        """The kept bytes, head then tail, without a cut marker (all of them when nothing was cut)."""
        return bytes(self._head) + self._kept_tail()

    def text(self) -> str:
        """The kept output as text (undecodable bytes replaced), with the cut marker if anything was cut."""
        tail = self._kept_tail()
        head = bytes(self._head)
        if not self.truncated:
            return (head + tail).decode("utf-8", errors="replace")
        cut = self.total - len(head) - len(tail)
        return head.decode("utf-8", errors="replace") + cut_marker(cut) + tail.decode("utf-8", errors="replace")
