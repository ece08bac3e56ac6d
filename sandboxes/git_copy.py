"""The repository copy every sandbox starts from, made on the host with git: the work tree at the
base commit and a ready `.git` (no Docker here, so the local sandbox can use it too).
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

from agent.core.errors import SandboxError


def resolve_commit(repo: Path, base_commit: str) -> str:
    """The full SHA of `base_commit` in `repo`, or a SandboxError saying what to fix."""
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{base_commit}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SandboxError(
            f"base commit {base_commit!r} not found in {repo}: fetch it there or fix the task's base_commit"
        )
    return done.stdout.strip()


def git_archive(repo: Path, commit: str) -> bytes:
    done = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit], capture_output=True)
    if done.returncode != 0:
        raise SandboxError(f"git archive {commit} failed in {repo}: {done.stderr.decode(errors='replace')}")
    return done.stdout


GIT_CONFIG = """[core]
\trepositoryformatversion = 0
\tfilemode = true
\tbare = false
\tlogallrefupdates = true
[user]
\tname = agent
\temail = agent@sandbox.invalid
[gc]
\tauto = 0
"""


def prepared_git(repo: Path, commit: str) -> bytes:
    """A tar of a ready `.git` for the work tree at `commit`, built on the host.

    One pack with just the base commit and its tree (a shallow repository, so the inside HEAD is
    the real base SHA), a branch `main` at it and an index from `git read-tree`. Nothing is
    hashed or written object by object inside the container. The index has no stat data, so git
    re-reads the files once, the first time it looks at the work tree.
    """
    with tempfile.TemporaryDirectory(prefix="agent-git-") as tmp:
        gitdir = Path(tmp) / ".git"
        (gitdir / "objects" / "pack").mkdir(parents=True)
        (gitdir / "refs" / "heads").mkdir(parents=True)
        (gitdir / "refs" / "tags").mkdir()
        objects = subprocess.run(
            ["git", "-C", str(repo), "rev-list", "--objects", "--no-walk", commit], capture_output=True, check=True
        ).stdout
        subprocess.run(
            [
                "git",
                "-C",
                str(repo),
                "-c",
                "pack.compression=1",
                "pack-objects",
                "-q",
                "--window=0",
                str(gitdir / "objects" / "pack" / "pack"),
            ],
            input=objects,
            capture_output=True,
            check=True,
        )
        (gitdir / "HEAD").write_text("ref: refs/heads/main\n")
        (gitdir / "refs" / "heads" / "main").write_text(commit + "\n")
        (gitdir / "shallow").write_text(commit + "\n")
        (gitdir / "config").write_text(GIT_CONFIG)
        subprocess.run(
            ["git", "read-tree", commit],
            env={"GIT_DIR": str(gitdir), "GIT_INDEX_FILE": str(gitdir / "index"), "PATH": os.environ["PATH"]},
            capture_output=True,
            check=True,
        )
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.add(gitdir, arcname=".git")
        return buffer.getvalue()


def repository_tar(repo: Path, commit: str) -> bytes:
    """The work tree at `commit` followed by its prepared `.git` (two tars; extract with `tar -i`)."""
    try:
        return git_archive(repo, commit) + prepared_git(repo, commit)
    except subprocess.CalledProcessError as exc:
        raise SandboxError(
            f"preparing the repository copy failed ({' '.join(map(str, exc.cmd))}): "
            f"{(exc.stderr or b'').decode(errors='replace')[-300:]}"
        ) from None
