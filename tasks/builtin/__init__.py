"""The built-in suite: small Python repositories with real bugs, features and refactors to make.

Layout (all package data):

- `repos/<name>/repo/` — one repository in its *fixed* state: every task of that repository solved.
- `repos/<name>/tasks/<id>/` — one task's sources, read only by `agent/bench/build_suite.py`: `task.toml` (issue
  text, type, difficulty), `base/` (files as they are before the fix: the bug), `test_patch/` (test
  files as the judging tests leave them).
- `tasks.jsonl` — the tasks `agent/bench/build_suite.py` writes from those sources: real `git diff` gold patches
  and test patches, F2P/P2P ids measured by running the tests, and each base commit's SHA.

Each task's base commit is the fixed repository with that task's gold patch reversed: one
parentless commit per task (so no history leads to the fix), branch `task/<instance_id>`, in one
bare repository per source repository at `$AGENT_HOME/cache/builtin/<name>-<content hash>`.
Author, committer, dates and message are fixed, so the SHAs are the same on every machine. The
repository is built in a temporary directory and renamed into place, so two processes can
materialize at once; the content hash makes an edited suite build afresh.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from agent.core.errors import TaskError
from agent.core.host_git import git_out
from tasks.models import Task
from tasks.records import read_task_file

HERE = Path(__file__).resolve().parent
REPOS = HERE / "repos"
TASKS_FILE = HERE / "tasks.jsonl"
SCHEME = "builtin-v1"  # bump when the way base commits are made changes
IGNORED = ("__pycache__", ".pytest_cache")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Builtin Suite",
    "GIT_AUTHOR_EMAIL": "suite@agent-ladder.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+0000",
    "GIT_COMMITTER_NAME": "Builtin Suite",
    "GIT_COMMITTER_EMAIL": "suite@agent-ladder.invalid",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+0000",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}
COMMIT_MESSAGE = "Initial commit"


def repo_name(task: Task) -> str:
    return task.repo.removeprefix("builtin/")


def builtin_tasks(home: Path, tasks_file: Path = TASKS_FILE) -> list[Task]:
    """The suite's tasks with `repo_path` and `base_commit` pointing at materialized repositories."""
    tasks = read_task_file(tasks_file)
    by_repo: dict[str, list[Task]] = {}
    for task in tasks:
        by_repo.setdefault(repo_name(task), []).append(task)
    located: dict[str, tuple[Path, dict[str, str]]] = {
        name: materialize(name, group, home) for name, group in by_repo.items()
    }
    result = []
    for task in tasks:
        path, commits = located[repo_name(task)]
        result.append(task.model_copy(update={"repo_path": str(path), "base_commit": commits[task.instance_id]}))
    return result


def source_files(root: Path) -> list[Path]:
    """Files under `root` (relative), without caches, sorted."""
    return sorted(
        path.relative_to(root)
        for path in root.rglob("*")
        if path.is_file() and not any(part in IGNORED or part.endswith(".pyc") for part in path.parts)
    )


def materialize(name: str, tasks: list[Task], home: Path) -> tuple[Path, dict[str, str]]:
    """The bare repository for `name` and each task's base commit, built once per content."""
    source = REPOS / name / "repo"
    if not source.is_dir():
        raise TaskError(f"built-in repository {name} is missing ({source}): reinstall the package")
    digest = hashlib.sha256(SCHEME.encode())
    for relative in source_files(source):
        digest.update(f"\0{relative.as_posix()}\0".encode() + (source / relative).read_bytes())
    for task in tasks:
        digest.update(f"\0{task.instance_id}\0{task.patch}".encode())
    target = home / "cache" / "builtin" / f"{name}-{digest.hexdigest()[:12]}"
    build_once(target, lambda gitdir: _build(source, tasks, gitdir))
    listing = _git(target, "for-each-ref", "--format=%(refname:lstrip=3) %(objectname)", "refs/heads/task/")
    commits = dict(line.split(" ", 1) for line in listing.splitlines())
    missing = [task.instance_id for task in tasks if task.instance_id not in commits]
    if missing:
        raise TaskError(f"{target} lacks tasks {', '.join(missing)}: delete that directory and load again")
    return target, commits


def build_once(target: Path, build: Callable[[Path], None]) -> None:
    """Make the bare repository `target` with `build(gitdir)` unless it exists: built in a temporary
    directory beside it and renamed into place, so two processes can materialize at once."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(scratch / "repo.git")
        try:
            os.rename(scratch / "repo.git", target)
        except OSError:
            if not target.exists():  # another process renamed its copy first: same content
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _build(source: Path, tasks: list[Task], gitdir: Path) -> None:
    _git(gitdir.parent, "init", "-q", "--bare", str(gitdir))
    (gitdir / "info").mkdir(exist_ok=True)
    (gitdir / "info" / "exclude").write_text("".join(f"{pattern}/\n" for pattern in IGNORED) + "*.pyc\n")
    _git(gitdir, "--work-tree", ".", "add", "-A", cwd=source)
    fixed = _git(gitdir, "write-tree").strip()
    for task in tasks:
        _git(gitdir, "read-tree", fixed)
        if task.patch.strip():
            try:
                _git(gitdir, "apply", "--cached", "-R", "-", stdin=task.patch)
            except TaskError as exc:
                raise TaskError(f"built-in task {task.instance_id}: its gold patch does not reverse: {exc}") from None
        tree = _git(gitdir, "write-tree").strip()
        commit = _git(gitdir, "commit-tree", tree, "-m", COMMIT_MESSAGE).strip()
        _git(gitdir, "update-ref", f"refs/heads/task/{task.instance_id}", commit)
    if tasks:
        _git(gitdir, "symbolic-ref", "HEAD", f"refs/heads/task/{tasks[0].instance_id}")


def _git(gitdir: Path, *args: str, stdin: str | None = None, cwd: Path | None = None) -> str:
    def failed(verb: str, detail: str) -> TaskError:
        return TaskError(f"git {verb} failed while building the built-in suite: {detail[-300:]}")

    where = [] if args[0] == "init" else ["--git-dir", str(gitdir)]
    return git_out(*where, *args, failed=failed, env=GIT_ENV, stdin=stdin, cwd=cwd)
