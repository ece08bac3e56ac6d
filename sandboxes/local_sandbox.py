"""A sandbox for machines without Docker: a temporary copy of the repository and local processes.

It is NOT isolated: commands run on this machine as the current user. What it keeps from the
Docker sandbox: the copy at the base commit with a one-commit git repository, the persistent
shell with real timeouts (process groups) and output capping, the same `diff()` (build and test
artifacts left out, `sandboxes.artifacts`), the same file reads and writes (exact bytes, a size
limit; done here directly, no shell needed), and an environment built from scratch (PATH, HOME,
LANG) so no API key reaches its commands.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
from pathlib import Path
from types import TracebackType

from agent.core.config import SandboxConfig
from agent.core.errors import SandboxError
from agent.core.protocols import ExecResult
from sandboxes import lifecycle
from sandboxes.artifacts import INSTALL_SCRIPT, ArtifactRules, install_failed
from sandboxes.git_copy import git_archive, resolve_commit
from sandboxes.shell import GIT_INIT_SCRIPT, PipeTransport, ShellSession, diff_script
from sandboxes.shell_files import too_large


def timeout_binary() -> str:
    """GNU `timeout` (called `gtimeout` by Homebrew's coreutils)."""
    for name in ("timeout", "gtimeout"):
        if shutil.which(name):
            return name
    raise SandboxError("the local sandbox needs GNU `timeout`: install coreutils (macOS: brew install coreutils)")


class LocalSandbox:
    """The repository at `base_commit` in a temporary directory; a context manager."""

    def __init__(self, config: SandboxConfig, repo: Path, base_commit: str, run_id: str) -> None:
        self.config = config
        self.run_id = run_id
        self._closed = False
        timeout_bin = timeout_binary()
        commit = resolve_commit(Path(repo), base_commit)
        self.rules = ArtifactRules.for_commit(Path(repo), commit)
        self.root = Path(tempfile.mkdtemp(prefix=f"agent-local-{run_id[:20]}-"))
        lifecycle.register(id(self), self.close)
        try:
            work = self.root / "testbed"
            home = self.root / "home"
            work.mkdir()
            home.mkdir()
            self.workdir = str(work)
            with tarfile.open(fileobj=io.BytesIO(git_archive(Path(repo), commit))) as tar:
                tar.extractall(work, filter="data")
            self.env = {
                "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
                "HOME": str(home),
                "LANG": "C.UTF-8",
            }
            done = subprocess.run(
                ["bash", "-c", GIT_INIT_SCRIPT], cwd=work, env=self.env, capture_output=True, text=True
            )
            if done.returncode != 0:
                raise SandboxError(f"git init in {work} failed: {done.stderr[-500:]}")
            self.base = done.stdout.strip().splitlines()[-1]
            self.excludes_file = str(self.root / "excludes")
            installed = subprocess.run(
                ["bash", "-c", INSTALL_SCRIPT, "bash", self.excludes_file],
                cwd=work,
                env=self.env,
                input=self.rules.exclude_text.encode("utf-8", "surrogateescape"),
                capture_output=True,
            )
            if installed.returncode != 0:
                output = (installed.stdout + installed.stderr).decode(errors="replace")
                raise install_failed(installed.returncode, output)
            self.shell = ShellSession(
                lambda: PipeTransport(["bash", "--noprofile", "--norc"], self.workdir, self.env),
                str(self.root / "shell"),
                head_bytes=config.output_head_bytes,
                tail_bytes=config.output_tail_bytes,
                timeout_bin=timeout_bin,
            )
            self.shell.start()
        except BaseException:
            self.close()
            raise

    def exec(self, command: str, timeout: float | None = None) -> ExecResult:
        if self._closed:
            raise SandboxError("this sandbox is closed: create a new one")
        seconds = float(timeout if timeout is not None else self.config.command_timeout_s)
        return self.shell.run(command, seconds)

    def _path(self, path: str) -> Path:
        return Path(path) if path.startswith("/") else Path(self.workdir) / path

    def read_bytes(self, path: str, max_bytes: int | None = None) -> bytes:
        """The file's exact bytes (read here directly: the sandbox is this machine's file system).

        Raises FileNotFoundError (missing or not a regular file), IsADirectoryError,
        PermissionError, or OSError with errno EFBIG when the file is larger than `max_bytes`.
        """
        target = self._path(path)
        info = target.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(f"{target}: is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise FileNotFoundError(f"{target}: no such file or not a regular file")
        if max_bytes is not None and info.st_size > max_bytes:
            raise too_large(str(target), max_bytes)
        return target.read_bytes()

    def write_bytes(self, path: str, data: bytes) -> None:
        """Write exactly `data` (parent directories created)."""
        target = self._path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def read_file(self, path: str) -> str:
        return self.read_bytes(path).decode()

    def write_file(self, path: str, content: str) -> None:
        self.write_bytes(path, content.encode())

    def diff(self) -> str:
        done = subprocess.run(
            ["bash", "-c", diff_script(self.base, str(self.root / "diff-index"), self.excludes_file, self.rules)],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
        )
        if done.returncode != 0:
            raise SandboxError(
                f"git diff failed in {self.workdir} (exit {done.returncode}): "
                f"{done.stderr.decode(errors='replace')[-400:]} — was .git removed?"
            )
        return done.stdout.decode(errors="replace")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        lifecycle.unregister(id(self))
        shell = getattr(self, "shell", None)
        if shell is not None:
            shell.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
