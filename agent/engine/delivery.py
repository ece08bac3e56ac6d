"""Delivers a solved attempt: a new branch holding one commit, made without a checkout.

The commit is built in a temporary index file (`GIT_INDEX_FILE`), so the user's HEAD, index
and working tree stay byte-identical; only a new ref `refs/heads/agent/<slug>` appears.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from agent.core.errors import TaskError
from agent.core.host_git import git_out


def _git(repo: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    def failed(verb: str, detail: str) -> TaskError:
        return TaskError(f"git {verb} failed in {repo}: {detail}")

    return git_out("-C", str(repo), *args, failed=failed, env=env, stdin=stdin)


def free_branch_name(repo: Path, slug: str) -> str:
    existing = set(_git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/agent/").split())
    name, number = f"agent/{slug}", 2
    while name in existing:
        name, number = f"agent/{slug}-{number}", number + 1
    return name


def commit_patch(repo: Path, base_commit: str, patch: str, slug: str, message: str) -> str:
    """Create branch agent/<slug> at base + patch; returns the branch name."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "GIT_INDEX_FILE": str(Path(tmp) / "index"),
            "GIT_AUTHOR_NAME": "agent",
            "GIT_AUTHOR_EMAIL": "agent@localhost",
            "GIT_COMMITTER_NAME": "agent",
            "GIT_COMMITTER_EMAIL": "agent@localhost",
        }
        _git(repo, "read-tree", base_commit, env=env)
        if patch.strip():
            _git(repo, "apply", "--cached", "--whitespace=nowarn", "-", env=env, stdin=patch)
        tree = _git(repo, "write-tree", env=env).strip()
        commit = _git(repo, "commit-tree", tree, "-p", base_commit, "-m", message, env=env).strip()
    branch = free_branch_name(repo, slug)
    _git(repo, "update-ref", f"refs/heads/{branch}", commit, "")
    return branch
