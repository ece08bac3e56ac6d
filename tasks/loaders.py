"""Loads benchmark tasks: the built-in suite, SWE-bench-style `.jsonl`/`.json` files, or a directory of them.

`load_tasks(spec)` reads and validates; it never touches the network. `checkout_repo(task)` makes
sure a task's repository is a local git repository holding its base commit: a local `repo_path`
is used as it is, a clone URL (or, without `repo_path`, `https://github.com/{repo}`) is cloned
once into `$AGENT_HOME/cache/repos/` and fetched again when the base commit is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.config import load_config
from agent.errors import TaskError
from tasks.models import Task

BUILTIN = "builtin"
GITHUB = "https://github.com/{repo}.git"
CLONE_TIMEOUT_S = 900
URL = re.compile(r"^([a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)


def agent_home() -> Path:
    """`$AGENT_HOME` as the layered configuration resolves it."""
    return load_config().home


def load_tasks(spec: str = BUILTIN) -> list[Task]:
    """Tasks from `builtin`, a `.jsonl` file, a `.json` file (a list or `{"tasks": [...]}`), or a directory."""
    if spec == BUILTIN:
        from tasks.builtin import builtin_tasks

        return builtin_tasks(agent_home())
    path = Path(spec).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl") and p.is_file())
        if not files:
            raise TaskError(f"{path} holds no *.json or *.jsonl task files: point at a task file or `builtin`")
        tasks = [task for file in files for task in _load_file(file)]
    elif path.is_file():
        tasks = _load_file(path)
    else:
        raise TaskError(f"no task suite {spec!r}: use `builtin`, a .jsonl or .json task file, or a directory of them")
    if not tasks:
        raise TaskError(f"{spec} holds no tasks: add task records (instance_id, repo, base_commit, ...) or fix it")
    _check_unique(tasks, spec)
    return tasks


def find_task(instance_id: str, spec: str = BUILTIN) -> Task:
    for task in load_tasks(spec):
        if task.instance_id == instance_id:
            return task
    raise TaskError(f"no task {instance_id} in {spec}: see `agent tasks list {spec}`")


def _check_unique(tasks: list[Task], spec: str) -> None:
    seen: set[str] = set()
    for task in tasks:
        if task.instance_id in seen:
            raise TaskError(f"{spec}: instance_id {task.instance_id} appears twice: task ids must be unique")
        seen.add(task.instance_id)


def _load_file(path: Path) -> list[Task]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskError(f"cannot read task file {path}: {exc}") from None
    if path.suffix == ".jsonl":
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                records.append((f"{path}:{number}", _json(line, f"{path}:{number}")))
    else:
        data = _json(text, str(path))
        if isinstance(data, dict) and isinstance(data.get("tasks"), list):
            data = data["tasks"]
        if not isinstance(data, list):
            raise TaskError(f'{path}: expected a list of tasks or {{"tasks": [...]}}, got {type(data).__name__}')
        records = [(f"{path}: task {index}", item) for index, item in enumerate(data)]
    return [_task(record, where, path.parent) for where, record in records]


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno}): fix or remove that line") from None


def _task(record: Any, where: str, folder: Path) -> Task:
    if not isinstance(record, dict):
        raise TaskError(f"{where}: expected a JSON object with instance_id, repo, ..., got {type(record).__name__}")
    try:
        task = Task.model_validate(record)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "task"
        raise TaskError(f"{where}: field {field!r}: {error['msg']}") from None
    if task.repo_path and not URL.match(task.repo_path) and not Path(task.repo_path).expanduser().is_absolute():
        task = task.model_copy(update={"repo_path": str((folder / task.repo_path).resolve())})
    return task


# --- repositories ---------------------------------------------------------------------------
def is_url(location: str) -> bool:
    return bool(URL.match(location))


def checkout_repo(task: Task, home: Path | None = None) -> Task:
    """`task` with `repo_path` a local git repository holding `base_commit` (cloned when needed)."""
    if task.repo_path and not is_url(task.repo_path):
        if not Path(task.repo_path).exists():
            raise TaskError(f"task {task.instance_id}: repository {task.repo_path} does not exist: fix repo_path")
        return task
    url = task.repo_path or GITHUB.format(repo=task.repo)
    cache = (home or agent_home()) / "cache" / "repos"
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
    verb = next(arg for arg in args if arg in ("clone", "fetch"))
    try:
        done = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            timeout=CLONE_TIMEOUT_S,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except subprocess.TimeoutExpired:
        raise TaskError(f"task {instance_id}: `git {verb}` took over {CLONE_TIMEOUT_S} s: try again") from None
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        raise TaskError(
            f"task {instance_id}: `git {verb}` failed ({detail}): "
            "check the URL and the network, or set repo_path to a local clone"
        )


def _has_commit(repo: Path, commit: str) -> bool:
    done = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True, check=False
    )
    return done.returncode == 0
