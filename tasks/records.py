"""Task files: `.jsonl` (one SWE-bench-style record a line) or `.json` (a list or `{"tasks": [...]}`)
read into `Task`s, with the line or index of each bad record in its error.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.core.errors import TaskError
from tasks.models import Task

URL = re.compile(r"^([a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)


def read_task_file(path: Path) -> list[Task]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskError(f"cannot read task file {path}: {exc}") from None
    if path.suffix == ".jsonl":
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                records.append((f"{path}:{number}", parse_json(line, f"{path}:{number}")))
    else:
        data = parse_json(text, str(path))
        if isinstance(data, dict) and isinstance(data.get("tasks"), list):
            data = data["tasks"]
        if not isinstance(data, list):
            raise TaskError(f'{path}: expected a list of tasks or {{"tasks": [...]}}, got {type(data).__name__}')
        records = [(f"{path}: task {index}", item) for index, item in enumerate(data)]
    return [_record_task(record, where, path.parent) for where, record in records]


def parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno}): fix or remove that line") from None


def _record_task(record: Any, where: str, folder: Path) -> Task:
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
