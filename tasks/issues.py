"""Reads the issue text for `agent fix`: a file, stdin, a GitHub issue, or literal text."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

import httpx
from pydantic import BaseModel

from agent.core.errors import TaskError

GITHUB_URL = re.compile(r"^https?://[^/]+/(?P<repo>[\w.-]+/[\w.-]+)/issues/(?P<number>\d+)/?(?:[#?].*)?$")
GITHUB_SHORT = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)#(?P<number>\d+)$")
DEFAULT_GITHUB_API = "https://api.github.com"


class IssueText(BaseModel):
    title: str
    body: str
    labels: list[str] = []
    source: str

    @property
    def text(self) -> str:
        return f"# {self.title}\n\n{self.body}".strip() if self.title else self.body.strip()


DEFAULT_MAX_KB = 200
"""Issues larger than this are refused: a 9 MB log pasted as an issue would be sent at max effort."""


def _from_text(text: str, source: str, max_kb: int = DEFAULT_MAX_KB) -> IssueText:
    size = len(text.encode())
    if size > max_kb * 1024:
        raise TaskError(
            f"the issue from {source} is {size / 1024:,.0f} KB, over the {max_kb} KB limit: "
            "trim it to the report and the relevant part of the log, or raise [issue] max_kb"
        )
    stripped = text.strip()
    if not stripped:
        raise TaskError(f"the issue from {source} is empty: describe the bug or feature to fix")
    first, _, rest = stripped.partition("\n")
    if first.startswith("#"):
        return IssueText(title=first.lstrip("# ").strip(), body=rest.strip(), source=source)
    return IssueText(title=first.strip()[:100], body=stripped, source=source)


def fetch_github_issue(repo: str, number: int, env: Mapping[str, str]) -> IssueText:
    base = env.get("GITHUB_API_URL") or DEFAULT_GITHUB_API
    headers = {"Accept": "application/vnd.github+json", "User-Agent": "agent-ladder"}
    if env.get("GITHUB_TOKEN"):
        headers["Authorization"] = f"Bearer {env['GITHUB_TOKEN']}"
    url = f"{base.rstrip('/')}/repos/{repo}/issues/{number}"
    try:
        response = httpx.get(url, headers=headers, timeout=20)
    except httpx.HTTPError as exc:
        raise TaskError(f"cannot reach GitHub at {base} ({exc}): check the network or GITHUB_API_URL") from None
    if response.status_code == 404:
        raise TaskError(f"GitHub issue {repo}#{number} not found: check the URL (private? set GITHUB_TOKEN)")
    if response.status_code in (401, 403):
        raise TaskError(f"GitHub refused {repo}#{number} ({response.status_code}): set a valid GITHUB_TOKEN")
    if response.status_code != 200:
        raise TaskError(f"GitHub answered {response.status_code} for {repo}#{number}: try again later")
    try:
        data = response.json()
        labels = [label["name"] if isinstance(label, dict) else str(label) for label in data.get("labels", [])]
        title, body = str(data["title"]), str(data.get("body") or "")
    except (ValueError, KeyError, TypeError):
        raise TaskError(f"GitHub sent an unreadable answer for {repo}#{number}") from None
    if not (title.strip() or body.strip()):
        raise TaskError(f"GitHub issue {repo}#{number} is empty: nothing to fix")
    return IssueText(title=title, body=body, labels=labels, source=f"github:{repo}#{number}")


def read_issue(
    spec: str | None,
    text: str | None = None,
    stdin: TextIO | None = None,
    env: Mapping[str, str] | None = None,
    max_kb: int = DEFAULT_MAX_KB,
) -> IssueText:
    """Turn the ISSUE argument (or --text) into issue text, with a clear error for bad input."""
    if text is not None and spec:
        raise TaskError(f"both ISSUE ({spec}) and --text given: pass one of them")
    if text is not None:
        return _from_text(text, "--text", max_kb)
    if not spec:
        raise TaskError("no issue given: pass a file, '-', a GitHub issue URL or owner/repo#N, or --text")
    if spec == "-":
        return _from_text((stdin or sys.stdin).read(), "stdin", max_kb)
    for pattern in (GITHUB_URL, GITHUB_SHORT):
        match = pattern.match(spec)
        if match:
            found = fetch_github_issue(match["repo"], int(match["number"]), env or {})
            _from_text(found.text, found.source, max_kb)  # the same size limit
            return found
    if spec.startswith(("http://", "https://")):
        raise TaskError(f"{spec} is not a GitHub issue URL: use https://github.com/OWNER/REPO/issues/N")
    path = Path(spec)
    if not path.is_file():
        raise TaskError(f"issue file {spec} does not exist: pass a file, '-', a GitHub issue or --text")
    try:
        return _from_text(path.read_text(), str(path), max_kb)
    except UnicodeDecodeError:
        raise TaskError(f"issue file {spec} is not text") from None
