"""The generated suite's repositories: one bare git repository per task, holding its base commit.

The commit's SHA is computed here from the files (git's object format: blobs, trees, one parentless
commit with the built-in suite's fixed author, committer, date and message), so a task knows its
`base_commit` without running git and a cached repository is found by its name alone:
`$AGENT_HOME/cache/generated/<instance_id>-<sha[:12]>` (the SHA hashes every file: it is the content
key). A missing repository is written with one `git fast-import` and checked against that SHA; it
is built beside its place and renamed into it (`tasks.builtin.build_once`), so two processes can
materialize at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent.core.errors import TaskError
from agent.core.host_git import git_out
from tasks.builtin import COMMIT_MESSAGE, GIT_ENV, build_once

BRANCH = "main"
BUILD_WORKERS = 4
"""Repositories written at once on a cold cache (each is two short git processes)."""
_WHEN = int(datetime.fromisoformat(GIT_ENV["GIT_COMMITTER_DATE"]).timestamp())
_AUTHOR = f"{GIT_ENV['GIT_AUTHOR_NAME']} <{GIT_ENV['GIT_AUTHOR_EMAIL']}> {_WHEN} +0000"
_COMMITTER = f"{GIT_ENV['GIT_COMMITTER_NAME']} <{GIT_ENV['GIT_COMMITTER_EMAIL']}> {_WHEN} +0000"
_MESSAGE = COMMIT_MESSAGE + "\n"


@dataclass(frozen=True)
class RepoSpec:
    """One repository to materialize: its name (the task's id) and its files at the base commit."""

    name: str
    files: dict[str, str]

    @property
    def commit(self) -> str:
        return commit_sha(self.files)


def _object(kind: str, body: bytes) -> bytes:
    return hashlib.sha1(f"{kind} {len(body)}\0".encode() + body, usedforsecurity=False).digest()


def tree_sha(files: dict[str, bytes]) -> bytes:
    """The binary SHA of the tree holding `files` (path -> content), sub-trees included."""
    blobs: dict[str, bytes] = {}
    folders: dict[str, dict[str, bytes]] = {}
    for path, data in files.items():
        head, _, rest = path.partition("/")
        if rest:
            folders.setdefault(head, {})[rest] = data
        else:
            blobs[head] = data
    entries = [(name, b"100644", _object("blob", data)) for name, data in blobs.items()]
    entries += [(name, b"40000", tree_sha(inner)) for name, inner in folders.items()]
    entries.sort(key=lambda entry: entry[0] + "/" if entry[1] == b"40000" else entry[0])  # git's tree order
    return _object("tree", b"".join(mode + b" " + name.encode() + b"\0" + sha for name, mode, sha in entries))


def commit_sha(files: dict[str, str]) -> str:
    """The SHA of the one commit of a repository holding `files`, as `fast-import` will write it."""
    tree = tree_sha({path: text.encode() for path, text in files.items()}).hex()
    body = f"tree {tree}\nauthor {_AUTHOR}\ncommitter {_COMMITTER}\n\n{_MESSAGE}"
    return _object("commit", body.encode()).hex()


def repo_dir(home: Path, spec: RepoSpec, commit: str) -> Path:
    return home / "cache" / "generated" / f"{spec.name}-{commit[:12]}"


def materialize(specs: Sequence[RepoSpec], home: Path) -> list[tuple[Path, str]]:
    """Each spec's bare repository and base commit, written only where missing."""
    located = []
    for spec in specs:
        commit = spec.commit
        located.append((repo_dir(home, spec, commit), commit))
    missing = [(spec, path, commit) for spec, (path, commit) in zip(specs, located, strict=True) if not path.exists()]

    def write(job: tuple[RepoSpec, Path, str]) -> None:
        spec, target, commit = job
        build_once(target, lambda gitdir: _build(spec, commit, gitdir))

    if missing:
        with ThreadPoolExecutor(max_workers=BUILD_WORKERS) as pool:
            list(pool.map(write, missing))
    return located


def _build(spec: RepoSpec, commit: str, gitdir: Path) -> None:
    _git(spec.name, "init", "-q", "--bare", "--template=", f"--initial-branch={BRANCH}", str(gitdir))
    _git(spec.name, "--git-dir", str(gitdir), "fast-import", "--quiet", "--date-format=raw", stdin=_stream(spec))
    made = (gitdir / "refs" / "heads" / BRANCH).read_text().strip()
    if made != commit:
        raise TaskError(f"generated task {spec.name}: git wrote commit {made}, expected {commit}: report this bug")


def _stream(spec: RepoSpec) -> str:
    """The `git fast-import` input that writes the spec's one commit on `BRANCH`."""
    parts = [
        f"commit refs/heads/{BRANCH}\n",
        f"author {_AUTHOR}\ncommitter {_COMMITTER}\n",
        f"data {len(_MESSAGE.encode())}\n{_MESSAGE}",
    ]
    for path, text in sorted(spec.files.items()):
        parts.append(f"M 100644 inline {path}\ndata {len(text.encode())}\n{text}\n")
    return "".join(parts) + "\n"


def _git(name: str, *args: str, stdin: str | None = None) -> str:
    def failed(verb: str, detail: str) -> TaskError:
        return TaskError(f"git {verb} failed while writing generated task {name}'s repository: {detail[-300:]}")

    return git_out(*args, failed=failed, env=GIT_ENV, stdin=stdin)
