"""The scripts that read and write a sandbox file as exact bytes, and what their output means.

They run in the persistent shell (`sandboxes.shell`) or in one `docker exec` when there is none.
A read prints a status line and then the file's bytes (one past the size limit at most); a write's
bytes follow its command line on the shell's stdin and `head -c` (GNU: it never reads past its
count) takes exactly that many, so the shell never parses them, even when the write fails.
"""

from __future__ import annotations

import errno
import posixpath
import shlex

FILE_IO_TIMEOUT_S = 30.0
"""Seconds a file read or write in the main shell may take before the shell is dropped as hung."""

UNLIMITED_BYTES = 1 << 62
"""The size limit of a read that has none (still a number `head -c` and bash take)."""

# Prints D (directory), N (missing or not a regular file), P (unreadable), or F and then at most
# {count} bytes of the file. Runs in the main shell: builtins but for `head`, no `exit`.
READ_SCRIPT = r"""__agent_p={path}
if [ -d "$__agent_p" ]; then echo D
elif [ ! -f "$__agent_p" ]; then echo N
elif [ ! -r "$__agent_p" ]; then echo P
else echo F && head -c {count} < "$__agent_p"; fi"""

# One line (its stdin's {count} bytes follow it): creates the parent directories, writes the
# bytes in place (the file keeps its inode and mode, as with `cat >`). When the directory or the
# file cannot be opened, the second `head` still takes the bytes off stdin. When the first one
# fails part way (disk full), the second waits for bytes that never come: the shell is dropped
# at the timeout, and none of the bytes ever ran.
WRITE_SCRIPT = (
    "{{ [ -d {parent} ] || mkdir -p -- {parent}; }} && {{ head -c {count} >&3; }} 3>{path} || "
    "{{ head -c {count} >/dev/null; false; }}"
)


def os_error(message: str, path: str) -> OSError:
    """The OSError a failed file command's output stands for (cat, mkdir, a redirection)."""
    if "No such file" in message:
        return FileNotFoundError(f"{path}: no such file")
    if "Permission denied" in message or "Read-only" in message:
        return PermissionError(f"{path}: permission denied")
    if "Is a directory" in message:
        return IsADirectoryError(f"{path}: is a directory")
    return OSError(f"{path}: {message.strip()[-300:]}")


def too_large(path: str, limit: int) -> OSError:
    """The error for a read over its size limit (errno EFBIG; `strerror` names the limit)."""
    return OSError(errno.EFBIG, f"file is over the limit of {limit} bytes", path)


def read_script(path: str, max_bytes: int | None) -> str:
    """The script that reads `path`: a status line, then the content (one byte past the limit at most)."""
    limit = UNLIMITED_BYTES if max_bytes is None else max_bytes
    return READ_SCRIPT.format(path=shlex.quote(path), count=limit + 1)


def read_result(path: str, max_bytes: int | None, code: int, out: bytes) -> bytes:
    """The file's bytes from what `read_script` printed, or the error it stands for.

    Raises IsADirectoryError, FileNotFoundError (missing, or not a regular file),
    PermissionError, or OSError with errno EFBIG (`too_large`) past `max_bytes`.
    """
    status, _, body = out.partition(b"\n")
    if status == b"D":
        raise IsADirectoryError(f"{path}: is a directory")
    if status == b"N":
        raise FileNotFoundError(f"{path}: no such file or not a regular file")
    if status == b"P":
        raise PermissionError(f"{path}: permission denied")
    if code != 0 or status != b"F":
        raise os_error(out.decode(errors="replace"), path)
    if max_bytes is not None and len(body) > max_bytes:
        raise too_large(path, max_bytes)
    return body


def write_script(path: str, count: int) -> str:
    """The one-line script that writes the `count` bytes of its stdin to `path`."""
    parent = posixpath.dirname(path) or "."
    return WRITE_SCRIPT.format(parent=shlex.quote(parent), path=shlex.quote(path), count=count)
