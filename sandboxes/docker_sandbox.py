"""A sandbox in a locked-down Docker container, driven through the docker SDK.

One container per instance: no network by default, memory/swap/pids/cpu limits, no
capabilities, no-new-privileges, a non-root user, an init process and an empty environment.
The repository is streamed in with `git archive` at the base commit and made a one-commit git
repository inside, so `diff()` is `git diff` against that commit, build and test artifacts left
out (`sandboxes.artifacts`); files an environment image's install generated are put back beside
the copy and left out of the diff too (`sandboxes.environment.generated`). Commands and file
reads and writes go through one persistent shell (`sandboxes.shell`); one `docker exec` each only
when that shell cannot start.
"""

from __future__ import annotations

import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import docker
import docker.errors

from agent.core.config import SandboxConfig
from agent.core.errors import SandboxError
from agent.core.protocols import ExecResult
from sandboxes import lifecycle
from sandboxes.artifacts import INSTALL_SCRIPT, ArtifactRules, install_failed
from sandboxes.engine import already_gone, docker_client, docker_errors, one_line, require_image
from sandboxes.environment.generated import RESTORE_SCRIPT
from sandboxes.git_copy import repository_tar, resolve_commit
from sandboxes.output import OutputCap
from sandboxes.shell import (
    KILL_AFTER_S,
    TIMEOUT_EXIT,
    DockerExecTransport,
    ShellSession,
    ShellUnavailable,
    diff_script,
)
from sandboxes.shell_files import os_error, read_result, read_script, write_script

SHELL_STATE_DIR = "/tmp/.agent-shell"
DIFF_INDEX = "/tmp/.agent-diff-index"
EXCLUDES_FILE = "/tmp/.agent-excludes"
SETUP_TIMEOUT_S = 300.0


T = TypeVar("T")

_reaped = False
_reap_lock = threading.Lock()


def container_options(config: SandboxConfig, run_id: str) -> dict[str, Any]:
    """The keyword arguments for `containers.run` that every sandbox container gets."""
    safe_run = re.sub(r"[^a-zA-Z0-9_.-]", "-", run_id)[:40] or "run"
    options: dict[str, Any] = {
        "image": config.image,
        "command": ["sleep", "infinity"],
        "name": f"agent-{safe_run}-{secrets.token_hex(3)}",
        "detach": True,
        "environment": {},
        "labels": lifecycle.owner_labels(run_id),
        "network_mode": config.network,
        "mem_limit": config.mem_limit,
        "memswap_limit": config.mem_limit,
        "nano_cpus": int(config.cpus * 1e9),
        "pids_limit": config.pids_limit,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "user": config.user,
        "init": True,
        "working_dir": config.workdir,
    }
    if config.workdir_tmpfs:
        options["tmpfs"] = {config.workdir: f"exec,mode=0755,uid={config.uid},gid={config.uid}"}
    return options


def _first_reap(client: Any) -> None:
    global _reaped
    with _reap_lock:
        if _reaped:
            return
        _reaped = True
    lifecycle.reap_orphans(client)


class DockerSandbox:
    """The repository at `base_commit` inside a fresh container; a context manager."""

    def __init__(self, config: SandboxConfig, repo: Path, base_commit: str, run_id: str) -> None:
        self.config = config
        self.workdir = config.workdir
        self.run_id = run_id
        self._closed = False
        self._client = docker_client()
        require_image(self._client, config.image)
        _first_reap(self._client)
        commit = resolve_commit(Path(repo), base_commit)
        archive: dict[str, bytes | ArtifactRules | BaseException] = {}

        def build_archive() -> None:
            try:
                archive["tar"] = repository_tar(Path(repo), commit)
                archive["rules"] = ArtifactRules.for_commit(Path(repo), commit)
            except BaseException as exc:
                archive["error"] = exc

        builder = threading.Thread(target=build_archive, daemon=True)
        builder.start()
        try:
            self.container = self._client.containers.run(**container_options(config, run_id))
        except docker.errors.DockerException as exc:
            builder.join()
            raise SandboxError(f"cannot start a sandbox container from {config.image}: {one_line(exc)}") from exc
        lifecycle.register(id(self), self.close)
        try:
            builder.join()
            error = archive.get("error")
            if isinstance(error, BaseException):
                raise error
            tar, rules = archive["tar"], archive["rules"]
            assert isinstance(tar, bytes) and isinstance(rules, ArtifactRules)
            code, out = self._run_once(["tar", "-x", "-i", "-f", "-"], stdin=tar)
            if code != 0:
                raise SandboxError(
                    f"copying the repository into the sandbox failed (exit {code}): "
                    f"{out.decode(errors='replace')[-500:]}; check that {config.workdir} is writable by "
                    f"{config.user} in {config.image}"
                )
            self.rules, self.excludes_file = rules, EXCLUDES_FILE
            code, out = self._run_once(
                ["bash", "-c", f"{INSTALL_SCRIPT} && {RESTORE_SCRIPT}", "bash", self.excludes_file],
                stdin=rules.exclude_text.encode("utf-8", "surrogateescape"),
            )
            if code != 0:
                raise install_failed(code, out.decode(errors="replace"))
            self.base = commit
            self._start_shell()
        except BaseException:
            self.close()
            raise

    def _start_shell(self) -> None:
        """The persistent shell; one that will not start (a busy engine) is tried again by the first
        command, which runs without it if it fails again."""
        self.shell = ShellSession(
            self._open_shell,
            SHELL_STATE_DIR,
            head_bytes=self.config.output_head_bytes,
            tail_bytes=self.config.output_tail_bytes,
        )
        try:
            self.shell.start()
        except ShellUnavailable:
            self._raise_if_dead()

    # plumbing ------------------------------------------------------------------------------
    def _open_exec(self, argv: list[str], stdin: bool = True) -> tuple[str, DockerExecTransport]:
        api = self._client.api
        try:
            exec_id = api.exec_create(
                self.container.id,
                argv,
                stdin=stdin,
                stdout=True,
                stderr=True,
                tty=False,
                user=self.config.user,
                workdir=self.workdir,
            )["Id"]
            raw = api.exec_start(exec_id, socket=True)
        except docker.errors.DockerException as exc:
            self._raise_if_dead()
            raise OSError(f"docker exec failed: {one_line(exc)}") from exc
        return exec_id, DockerExecTransport(raw)

    def _open_shell(self) -> DockerExecTransport:
        return self._open_exec(["bash", "--noprofile", "--norc"])[1]

    def _raise_if_dead(self) -> None:
        try:
            self.container.reload()
        except docker.errors.DockerException as exc:
            if already_gone(exc):
                raise SandboxError(
                    f"sandbox container {self.container.short_id} is gone (removed from outside?): start the run again"
                ) from None
            raise SandboxError(
                f"cannot inspect sandbox container {self.container.short_id}: {one_line(exc)}; check `docker info`"
            ) from exc
        state = self.container.attrs.get("State", {})
        if state.get("Status") != "running":
            raise SandboxError(
                f"sandbox container {self.container.short_id} died (status {state.get('Status')}, "
                f"exit code {state.get('ExitCode')}, OOM-killed {state.get('OOMKilled')}): "
                "raise sandbox.mem_limit if it ran out of memory, then start the run again"
            )

    def _run_once(self, argv: list[str], stdin: bytes | None = None) -> tuple[int, bytes]:
        """One exec to completion (not through the shell): exit code and combined output."""
        exec_id, transport = self._open_exec(argv, stdin=stdin is not None)
        out = bytearray()
        try:
            if stdin is not None:
                transport.send(stdin)
                transport._sock.shutdown(socket.SHUT_WR)
            while chunk := transport.recv(SETUP_TIMEOUT_S):
                out += chunk
        finally:
            transport.close()
        code = self._exit_code(exec_id)
        return (code if code is not None else -1), bytes(out)

    def _exit_code(self, exec_id: str) -> int | None:
        with docker_errors(f"reading an exit code in sandbox container {self.container.short_id}"):
            code = self._client.api.exec_inspect(exec_id).get("ExitCode")
        return code if code is None else int(code)

    def _exec_without_shell(self, command: str, timeout: float) -> ExecResult:
        """Fallback when no persistent shell can be started: one exec per command, no cd/export."""
        argv = ["timeout", f"--kill-after={KILL_AFTER_S}", f"{timeout:.3f}", "bash", "-c", command]
        started = time.monotonic()
        exec_id, transport = self._open_exec(argv, stdin=False)
        cap = OutputCap(self.config.output_head_bytes, self.config.output_tail_bytes)
        try:
            while chunk := transport.recv(timeout + KILL_AFTER_S + 10):
                cap.feed(chunk)
        except TimeoutError:
            pass
        finally:
            transport.close()
        code = self._exit_code(exec_id)
        duration = time.monotonic() - started
        timed_out = code in (TIMEOUT_EXIT, 137, None) and duration >= timeout - 0.05
        return ExecResult(
            exit_code=TIMEOUT_EXIT if timed_out else (code if code is not None else -1),
            output=cap.text(),
            truncated=cap.truncated,
            duration=duration,
            timed_out=timed_out,
        )

    # the Sandbox protocol ------------------------------------------------------------------
    def exec(self, command: str, timeout: float | None = None) -> ExecResult:
        if self._closed:
            raise SandboxError("this sandbox is closed: create a new one")
        seconds = float(timeout if timeout is not None else self.config.command_timeout_s)
        try:
            result = self.shell.run(command, seconds)
        except ShellUnavailable:
            self._raise_if_dead()
            return self._exec_without_shell(command, seconds)
        if not self.shell.alive:
            self._raise_if_dead()
        return result

    def _path(self, path: str) -> str:
        return path if path.startswith("/") else f"{self.workdir.rstrip('/')}/{path}"

    def read_bytes(self, path: str, max_bytes: int | None = None) -> bytes:
        """The file's exact bytes through the persistent shell (one round trip).

        Raises FileNotFoundError (missing or not a regular file), IsADirectoryError,
        PermissionError, or OSError with errno EFBIG when the file is larger than `max_bytes`.
        """
        target = self._path(path)
        try:
            return self._through_shell(lambda: self.shell.read_bytes(target, max_bytes))
        except ShellUnavailable:
            code, out = self._run_once(["bash", "-c", read_script(target, max_bytes)])
            return read_result(target, max_bytes, code, out)

    def write_bytes(self, path: str, data: bytes) -> None:
        """Write exactly `data` (parent directories created) through the persistent shell."""
        target = self._path(path)
        try:
            self._through_shell(lambda: self.shell.write_bytes(target, data))
        except ShellUnavailable:
            code, out = self._run_once(["bash", "-c", write_script(target, len(data))], stdin=data)
            if code != 0:
                raise os_error(out.decode(errors="replace"), target) from None

    def _through_shell(self, action: Callable[[], T]) -> T:
        """Run a file action in the shell; a dead container becomes a SandboxError."""
        if self._closed:
            raise SandboxError("this sandbox is closed: create a new one")
        try:
            return action()
        except ShellUnavailable:
            self._raise_if_dead()
            raise
        except OSError:
            if not self.shell.alive:
                self._raise_if_dead()
            raise

    def read_file(self, path: str) -> str:
        return self.read_bytes(path).decode()

    def write_file(self, path: str, content: str) -> None:
        self.write_bytes(path, content.encode())

    def diff(self) -> str:
        script = diff_script(self.base, DIFF_INDEX, self.excludes_file, self.rules)
        with docker_errors(f"taking the diff in sandbox container {self.container.short_id}"):
            result = self._client.api.exec_create(
                self.container.id, ["bash", "-c", script], user=self.config.user, workdir=self.workdir
            )
            stdout, stderr = self._client.api.exec_start(result["Id"], demux=True)
        code = self._exit_code(result["Id"])
        if code != 0:
            raise SandboxError(
                f"git diff failed in the sandbox (exit {code}): {(stderr or b'').decode(errors='replace')[-400:]}"
                " — was .git removed or the base commit rewritten?"
            )
        return (stdout or b"").decode(errors="replace")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        lifecycle.unregister(id(self))
        shell = getattr(self, "shell", None)
        if shell is not None:
            shell.close()
        container = getattr(self, "container", None)
        if container is not None:
            try:
                container.remove(force=True)
            except docker.errors.DockerException as exc:
                if not already_gone(exc):
                    raise SandboxError(
                        f"could not remove sandbox container {container.short_id}: {one_line(exc)}; "
                        "run `agent sandbox prune --all`"
                    ) from exc
        self._client.close()

    def __enter__(self) -> DockerSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
