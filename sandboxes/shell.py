"""One long-lived bash per sandbox, spoken to over a byte stream with an end marker per command.

The main shell never runs the model's command itself. Each command runs in a child bash under
`timeout --kill-after=...` (its own process group, killed whole on timeout, stdin /dev/null); the
child writes its exported variables and working directory to a state file on exit, and the main
shell loads that file before printing the end marker with the exit code. So `cd` and `export`
persist, a timed-out command leaves nothing running, and the main shell itself is never killed.

A `Transport` carries the bytes (`sandboxes.transports`, re-exported here): a docker exec socket
(`DockerExecTransport`) or the pipes of a local process (`PipeTransport`).

File I/O (`read_bytes`, `write_bytes`: the editor's view/create/str_replace/insert) runs one
script of `sandboxes.shell_files` in the main shell itself, with no child bash and no `timeout`:
one round trip each, the content framed by the same secret end marker as any command's output.
"""

from __future__ import annotations

import errno
import secrets
import shlex
import signal
import time
from collections.abc import Callable

from agent.core.protocols import ExecResult
from sandboxes.artifacts import ArtifactRules
from sandboxes.output import OutputCap
from sandboxes.shell_files import FILE_IO_TIMEOUT_S, UNLIMITED_BYTES, os_error, read_result, read_script, write_script
from sandboxes.transports import DockerExecTransport as DockerExecTransport  # re-exported: the sandboxes import it here
from sandboxes.transports import PipeTransport as PipeTransport
from sandboxes.transports import Transport

KILL_AFTER_S = 2
"""Seconds between the TERM and the KILL sent to a timed-out command's process group."""

BIG_COMMAND_BYTES = 64_000
"""Commands longer than this go through a file (one argv string may not exceed 128 KiB)."""

TIMEOUT_EXIT = 124

# Runs one command ($1) in a child bash started with an empty environment: loads the state
# file $2 (exports + cwd), runs the command, and on exit writes the new state to $3.
RUN_SCRIPT = r"""
. "$2"
__agent_out=$3
trap '__agent_rc=$?; { export -p; printf "cd -- %q\n" "$PWD"; } > "$__agent_out"; exit $__agent_rc' EXIT
eval "$1"
"""

# Sent once to a fresh main shell; {dir} is its private state directory. Only builtins run in
# the main shell per command, apart from the one `timeout` it starts.
INIT_SCRIPT = r"""exec 2>&1
__agent_dir={dir}
mkdir -p -m 700 "$__agent_dir"
cat > "$__agent_dir/run.sh" <<'__AGENT_RUN_EOF__'
{run}
__AGENT_RUN_EOF__
{{ export -p; printf 'cd -- %q\n' "$PWD"; }} > "$__agent_dir/state.0"
__agent_run() {{
  : > "$4"
  {timeout} --kill-after={kill_after} "$2" env -i bash --noprofile --norc "$__agent_dir/run.sh" "$1" "$3" "$4" \
    </dev/null 2>&1
  __agent_rc=$?
  if [ -s "$4" ]; then __agent_saved=1; else __agent_saved=0; fi
  printf '%s %d %d\n' "$5" "$__agent_rc" "$__agent_saved"
}}
printf '%s %d\n' {ready} $$
"""

# Makes the copied tree a git repository whose one commit is the base (run in the workdir).
GIT_INIT_SCRIPT = (
    "git init -q --template= . && "
    "git config user.name agent && git config user.email agent@sandbox.invalid && "
    "git config gc.auto 0 && "
    "git -c core.looseCompression=0 add -A && "
    "git commit -q --no-verify --no-gpg-sign --allow-empty -m base && "
    "git rev-parse HEAD"
)


def diff_script(base: str, index_file: str, excludes_file: str, rules: ArtifactRules) -> str:
    """Unified diff of the work tree against `base`, new and deleted files included, artifacts left out.

    Stages into a scratch index so the repository's own index (what the model sees in `git
    status`) is left alone. The scratch index starts as the base tree, keeping the stat data of
    the repository's index where it matches so unchanged files are not hashed again (`cp -p`
    keeps the index's mtime, which git's check for racily clean entries needs); `add -u`
    stages every change to a file tracked at the base, then `add -A` adds new files, skipping
    artifacts by `excludes_file` (a copy of `rules.exclude_text`) and by `rules.pathspecs`.
    """
    index = f"{shlex.quote(index_file)}.$$"  # one per run: a live look may overlap the final diff
    commit = shlex.quote(base)
    add = f"GIT_INDEX_FILE={index} git -c core.looseCompression=0"
    return (
        f"cp -p .git/index {index} 2>/dev/null || rm -f {index}; "
        f"{{ GIT_INDEX_FILE={index} git read-tree -m {commit} 2>/dev/null || "
        f"GIT_INDEX_FILE={index} git read-tree {commit}; }} && "
        f"{add} add -u && "
        f"{add} -c core.excludesFile={shlex.quote(excludes_file)} add -A {rules.add_arguments()} && "
        f"GIT_INDEX_FILE={index} git -c core.quotepath=off diff --cached --no-color --no-ext-diff "
        f"--binary {commit}; rc=$?; rm -f {index}; exit $rc"
    )


class ShellUnavailable(Exception):
    """The persistent shell could not be started; the caller falls back to one process per command."""


class ShellSession:
    """The persistent shell: writes commands, reads output up to each command's end marker."""

    def __init__(
        self,
        open_transport: Callable[[], Transport],
        state_dir: str,
        head_bytes: int,
        tail_bytes: int,
        timeout_bin: str = "timeout",
        start_timeout: float = 15.0,
    ) -> None:
        self._open = open_transport
        self.state_dir = state_dir
        self.head_bytes = head_bytes
        self.tail_bytes = tail_bytes
        self.timeout_bin = timeout_bin
        self.start_timeout = start_timeout
        self._nonce = secrets.token_hex(8)
        self._count = 0
        self._transport: Transport | None = None
        self._state = f"{state_dir}/state.0"
        self.pid: int | None = None
        """PID of the main shell (inside the sandbox's PID namespace)."""
        self.starts = 0

    @property
    def alive(self) -> bool:
        return self._transport is not None

    def start(self) -> None:
        """Open a fresh shell (restoring the saved cwd/env if an earlier shell left them)."""
        self._drop()
        ready = f"__AGENT_READY_{self._nonce}__"
        script = INIT_SCRIPT.format(
            dir=shlex.quote(self.state_dir),
            run=RUN_SCRIPT.strip(),
            timeout=self.timeout_bin,
            kill_after=KILL_AFTER_S,
            ready=ready,
        )
        try:
            transport = self._open()
            transport.send(script.encode())
            seen = bytearray()
            deadline = time.monotonic() + self.start_timeout
            while b"\n" not in seen.partition(ready.encode())[2]:
                chunk = transport.recv(deadline - time.monotonic())
                if not chunk:
                    raise ShellUnavailable(f"the shell exited while starting: {bytes(seen)[-300:]!r}")
                seen += chunk
        except (OSError, TimeoutError) as exc:
            raise ShellUnavailable(f"could not start the shell: {exc}") from exc
        self.pid = int(seen.partition(ready.encode())[2].split(b"\n", 1)[0])
        self._transport = transport
        self.starts += 1

    def _drop(self) -> None:
        if self._transport is not None:
            transport, self._transport = self._transport, None
            transport.close()

    def close(self) -> None:
        self._drop()

    def _next_marker(self) -> bytes:
        self._count += 1
        return f"__AGENT_END_{self._nonce}_{self._count}__ ".encode()

    def _exchange(self, data: bytes, marker: bytes, cap: OutputCap, deadline: float) -> tuple[int, bool]:
        """Send `data`, read the output into `cap` up to `marker`; drop the shell if it dies or hangs."""
        assert self._transport is not None
        try:
            self._transport.send(data)
            return self._read(self._transport, marker, cap, deadline)
        except (OSError, TimeoutError, _ShellDied):
            self._drop()
            raise

    def run(self, command: str, timeout: float) -> ExecResult:
        """Run one command; restarts the shell first if the last one died."""
        if self._transport is None:
            self.start()
        marker = self._next_marker()
        if len(command.encode()) > BIG_COMMAND_BYTES:
            delim = f"__AGENT_CMD_{self._nonce}_{self._count}__"
            path = f"{self.state_dir}/cmd"
            prelude = f"cat > {shlex.quote(path)} <<'{delim}'\n{command}\n{delim}\n"
            command = f". {shlex.quote(path)}"
        else:
            prelude = ""
        nxt = f"{self.state_dir}/state.{'b' if self._state.endswith('.a') else 'a'}"
        line = (
            f"{prelude}__agent_run {shlex.quote(command)} {timeout:.3f} {shlex.quote(self._state)} "
            f"{shlex.quote(nxt)} {marker.decode().strip()}\n"
        )
        cap = OutputCap(self.head_bytes, self.tail_bytes)
        started = time.monotonic()
        try:
            exit_code, saved = self._exchange(line.encode(), marker, cap, started + timeout + KILL_AFTER_S + 10)
        except (OSError, TimeoutError, _ShellDied) as exc:
            note = (
                "the command hung past its timeout"
                if isinstance(exc, TimeoutError)
                else "the shell died during this command"
            )
            cap.feed(f"\n[{note}; a new shell starts with the next command]\n".encode())
            hung = isinstance(exc, TimeoutError)
            return ExecResult(
                exit_code=TIMEOUT_EXIT if hung else -1,
                output=cap.text(),
                truncated=cap.truncated,
                duration=time.monotonic() - started,
                timed_out=hung,
            )
        duration = time.monotonic() - started
        timed_out = exit_code in (TIMEOUT_EXIT, 128 + signal.SIGKILL) and duration >= timeout - 0.05
        if saved and not timed_out:
            self._state = nxt
        return ExecResult(
            exit_code=TIMEOUT_EXIT if timed_out else exit_code,
            output=cap.text(),
            truncated=cap.truncated,
            duration=duration,
            timed_out=timed_out,
        )

    def _inline(self, script: str, timeout: float, max_output: int, stdin: bytes = b"") -> tuple[int, bytes]:
        """Run a script of ours in the main shell itself: its exit code and output (`max_output` kept).

        No child bash, no `timeout`, none of the model's `cd`/`export`: for file I/O only. With
        `stdin`, `script` is one line that takes exactly len(stdin) bytes off the shell's input
        whatever happens (as `WRITE_SCRIPT` does): any left would run as commands. The script
        must be safe to run twice: a shell found dead is replaced and the script sent again,
        once. Raises OSError if the new shell dies too or one hangs past `timeout` (it is dropped).
        """
        try:
            return self._inline_once(script, timeout, max_output, stdin)
        except _ShellDied:
            pass  # found dead (killed between two commands?): once more, in a new shell
        try:
            return self._inline_once(script, timeout, max_output, stdin)
        except _ShellDied:
            raise OSError(errno.EPIPE, "the shell died twice in a row; a new one starts next") from None

    def _inline_once(self, script: str, timeout: float, max_output: int, stdin: bytes) -> tuple[int, bytes]:
        if self._transport is None:
            self.start()
        marker = self._next_marker()
        end = f"printf '%s %d 0\\n' {marker.decode().strip()} \"$?\"\n"
        line = f"{script}; {end}" if stdin else f"{{ {script}\n}} </dev/null; {end}"
        cap = OutputCap(max_output, 0)
        try:
            code, _ = self._exchange(line.encode() + stdin, marker, cap, time.monotonic() + timeout)
        except TimeoutError:
            raise OSError(errno.ETIMEDOUT, f"the shell hung for {timeout:g}s; a new one starts next") from None
        except OSError:
            raise _ShellDied from None
        return code, cap.data()

    def read_bytes(self, path: str, max_bytes: int | None = None, timeout: float = FILE_IO_TIMEOUT_S) -> bytes:
        """The exact bytes of the regular file `path`, in one round trip (errors: `read_result`)."""
        room = UNLIMITED_BYTES if max_bytes is None else max_bytes + 64
        code, out = self._inline(read_script(path, max_bytes), timeout, room)
        return read_result(path, max_bytes, code, out)

    def write_bytes(self, path: str, data: bytes, timeout: float = FILE_IO_TIMEOUT_S) -> None:
        """Write exactly `data` to `path` (parent directories created), in one round trip."""
        code, out = self._inline(write_script(path, len(data)), timeout, 4096, stdin=data)
        if code != 0:
            raise os_error(out.decode(errors="replace"), path)

    @staticmethod
    def _read(transport: Transport, marker: bytes, cap: OutputCap, deadline: float) -> tuple[int, bool]:
        """Feed output to `cap` up to the marker; return the exit code and whether state was saved."""
        pending = bytearray()
        keep = len(marker) - 1
        while True:
            chunk = transport.recv(deadline - time.monotonic())
            if not chunk:
                cap.feed(bytes(pending))
                raise _ShellDied
            pending += chunk
            at = pending.find(marker)
            if at >= 0:
                cap.feed(bytes(pending[:at]))
                rest = pending[at + len(marker) :]
                while b"\n" not in rest:
                    more = transport.recv(deadline - time.monotonic())
                    if not more:
                        raise _ShellDied
                    rest += more
                code, saved = rest.split(b"\n", 1)[0].split()
                return int(code), saved == b"1"
            if len(pending) > keep:
                cap.feed(bytes(pending[: len(pending) - keep]))
                del pending[: len(pending) - keep]


class _ShellDied(Exception):
    pass
