"""`Task`: one thing to fix, as frozen SWE-bench-compatible data plus this project's own fields."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Task(BaseModel):
    """A bug or feature request in a repository at a base commit.

    The SWE-bench fields keep their names (`FAIL_TO_PASS`, `PASS_TO_PASS` may be lists or the
    JSON-encoded strings found in SWE-bench files).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    instance_id: str
    repo: str = Field(description="owner/name, or a label for a local repository.")
    base_commit: str
    problem_statement: str
    patch: str = Field("", description="The gold patch, when known.")
    test_patch: str = ""
    FAIL_TO_PASS: list[str] = Field(default_factory=list)  # SWE-bench field name
    PASS_TO_PASS: list[str] = Field(default_factory=list)  # SWE-bench field name
    # This project's fields.
    repo_path: str | None = Field(None, description="Local git repository path or clone URL.")
    test_cmd: str | None = None
    targets: list[str] = Field(default_factory=list, description="Tests that must pass (--target).")
    task_type: str | None = None
    difficulty: str | None = None
    title: str = ""
    labels: list[str] = Field(default_factory=list)
    image: str | None = None
    setup: str | None = None
    source: str = Field("", description="Where the issue text came from.")
    created_at: str | None = Field(None, description="When the change was made (ISO 8601), as SWE-bench records it.")

    @field_validator("FAIL_TO_PASS", "PASS_TO_PASS", mode="before")
    @classmethod
    def _decode_json_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else []
        return value

    @property
    def display_title(self) -> str:
        if self.title:
            return self.title
        first = self.problem_statement.strip().splitlines()[0] if self.problem_statement.strip() else ""
        return first.lstrip("# ").strip()[:100] or self.instance_id


def slugify(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "issue"
