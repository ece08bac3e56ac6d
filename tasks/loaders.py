"""Loads benchmark tasks: the built-in suite, the generated suite (`generated:N[:SEED]`), SWE-bench-style
`.jsonl`/`.json` files, or a directory of them.

`load_tasks(spec)` reads and validates; it never touches the network. `checkout_repo(task)` makes
sure a task's repository is a local git repository holding its base commit: a local `repo_path`
is used as it is, a clone URL (or, without `repo_path`, `https://github.com/{repo}`) is cloned
once into `$AGENT_HOME/cache/repos/` and fetched again when the base commit is missing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from agent.core.errors import TaskError
from agent.core.host_git import git_out
from tasks.builtin import builtin_tasks
from tasks.generated import generated_tasks, parse_spec
from tasks.models import Task
from tasks.records import URL, read_task_file

BUILTIN = "builtin"
GITHUB = "https://github.com/{repo}.git"
CLONE_TIMEOUT_S = 900


def load_tasks(spec: str, home: Path) -> list[Task]:
    """Tasks from `builtin` or `generated:N[:SEED]` (their repositories made under `home`), a `.jsonl` file,
    a `.json` file (a list or `{"tasks": [...]}`), or a directory of them."""
    if spec == BUILTIN:
        return builtin_tasks(home)
    if (generated := parse_spec(spec)) is not None:
        return generated_tasks(*generated, home)
    path = Path(spec).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl") and p.is_file())
        if not files:
            raise TaskError(f"{path} holds no *.json or *.jsonl task files: point at a task file or `builtin`")
        tasks = [task for file in files for task in read_task_file(file)]
    elif path.is_file():
        tasks = read_task_file(path)
    else:
        raise TaskError(
            f"no task suite {spec!r}: use `builtin`, `generated:N[:SEED]`, a .jsonl or .json task file, "
            "or a directory of them"
        )
    if not tasks:
        raise TaskError(f"{spec} holds no tasks: add task records (instance_id, repo, base_commit, ...) or fix it")
    _check_unique(tasks, spec)
    return tasks


def find_task(instance_id: str, spec: str, home: Path) -> Task:
    for task in load_tasks(spec, home):
        if task.instance_id == instance_id:
            return task
    raise TaskError(f"no task {instance_id} in {spec}: see `agent tasks list {spec}`")


def _check_unique(tasks: list[Task], spec: str) -> None:
    seen: set[str] = set()
    for task in tasks:
        if task.instance_id in seen:
            raise TaskError(f"{spec}: instance_id {task.instance_id} appears twice: task ids must be unique")
        seen.add(task.instance_id)


# --- repositories ---------------------------------------------------------------------------
def is_url(location: str) -> bool:
    return bool(URL.match(location))


def checkout_repo(task: Task, home: Path | None) -> Task:
    """`task` with `repo_path` a local git repository holding `base_commit` (cloned under `home`
    when remote; without a home a remote task is an error)."""
    if task.repo_path and not is_url(task.repo_path):
        if not Path(task.repo_path).exists():
            raise TaskError(f"task {task.instance_id}: repository {task.repo_path} does not exist: fix repo_path")
        return task
    url = task.repo_path or GITHUB.format(repo=task.repo)
    if home is None:
        raise TaskError(f"task {task.instance_id}: its repository {url} is remote: clone it first (agent bench does)")
    cache = home / "cache" / "repos"
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "__", task.repo.strip("/"))[:60] or "repo"
    target = cache / f"{slug}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"
    if not target.exists():
        _clone(url, target, task.instance_id)
    if not _has_commit(target, task.base_commit):
        _git(task.instance_id, "-C", str(target), "fetch", "--quiet", "--tags", "origin")
        if not _has_commit(target, task.base_commit):
            raise TaskError(
                f"task {task.instance_id}: base commit {task.base_commit} is not in {url}: fix the task's base_commit"
            )
    return task.model_copy(update={"repo_path": str(target)})


def _clone(url: str, target: Path, instance_id: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _git(instance_id, "clone", "--quiet", "--no-checkout", url, str(scratch / "repo"))
        try:
            os.rename(scratch / "repo", target)
        except OSError:
            if not target.exists():  # lost a race to another process: its clone is as good as ours
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _git(instance_id: str, *args: str) -> None:
    def failed(verb: str, detail: str) -> TaskError:
        if detail.startswith("took over"):
            return TaskError(f"task {instance_id}: `git {verb}` {detail}: try again")
        last = detail.splitlines()[-1]
        return TaskError(
            f"task {instance_id}: `git {verb}` failed ({last}): "
            "check the URL and the network, or set repo_path to a local clone"
        )

    git_out(*args, failed=failed, timeout=CLONE_TIMEOUT_S)


def _has_commit(repo: Path, commit: str) -> bool:
    done = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True, check=False
    )
    return done.returncode == 0
