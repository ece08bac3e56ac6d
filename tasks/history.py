"""Candidate tasks from a repository's own git history, read with git only (nothing is checked out).

`first_parent_commits` lists a range newest first, merges through their first parent;
`candidates` turns each commit that changes both source and test files into a `Candidate`: the
parent is the base, the non-test part of the diff is the gold `patch`, the test part the
`test_patch`. A test file has a path component `test`, `tests` or `testing`, or is named
`test_*.py`, `*_test.py` or `conftest.py`; a source file is any other file that is not
documentation (`*.md`, `*.rst`, `*.txt`, `*.adoc`, or under `doc/`/`docs/`). Documentation changes
still go into the patch; they just do not make a commit a candidate. Root commits have no base and
are never candidates; a commit whose diff is not UTF-8 text is left out (a task file holds text).

`difficulty` sizes the gold patch: easy is one file and at most 20 changed lines, medium at most 3
files and 100 lines, hard anything bigger. `problem_statement` is the commit message plus the
GitHub issues it references (`#123`), fetched only when `GITHUB_TOKEN` is set and `origin` is a
github.com URL; any failure leaves just the commit message. The diff never goes into it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath

import git
from pydantic import BaseModel, ConfigDict

from agent.core.errors import TaskError
from agent.core.patches import patch_stats
from tasks.issues import IssueText, fetch_github_issue

TEST_DIRS = frozenset({"test", "tests", "testing"})
DOC_DIRS = frozenset({"doc", "docs"})
DOC_SUFFIXES = frozenset({".md", ".rst", ".txt", ".adoc"})
EASY = (1, 20)  # at most this many files and changed lines
MEDIUM = (3, 100)
ISSUE_REF = re.compile(r"(?<![\w/.-])#(\d+)\b")
MAX_ISSUES = 3
GITHUB_REMOTE = re.compile(r"^(?:https?://|ssh://git@|git@)github\.com[:/](?P<repo>[\w.-]+/[\w.-]+?)(?:\.git)?/?$")
# Plain, complete diffs whatever the user's git configuration says (prefixes, colours, renames, drivers).
DIFF = ("diff", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "--no-relative")
PREFIXES = ("--src-prefix=a/", "--dst-prefix=b/")


class RepoInfo(BaseModel):
    """The repository being mined: its top level, its name and its GitHub name when `origin` has one."""

    model_config = ConfigDict(frozen=True)

    path: Path
    name: str
    github: str | None = None

    @property
    def label(self) -> str:
        """The tasks' `repo` field: owner/name on GitHub, else `local/<name>`."""
        return self.github or f"local/{self.name}"


class Candidate(BaseModel):
    """One commit that changes source and tests, split into the gold patch and the test patch."""

    model_config = ConfigDict(frozen=True)

    sha: str
    parent: str
    subject: str
    body: str
    created_at: str  # ISO 8601, the committer date: when the change entered the history
    patch: str
    test_patch: str
    files: list[str]  # the files the gold patch touches
    lines: int  # lines the gold patch adds or removes
    test_files: list[str]  # the test modules the test patch touches that exist after it: the tests to run

    @property
    def message(self) -> str:
        return f"{self.subject}\n\n{self.body}".strip()


def is_test_file(path: str) -> bool:
    parts = PurePosixPath(path).parts
    name = parts[-1]
    return bool(TEST_DIRS & set(parts[:-1])) or is_test_module(path) or name == "conftest.py"


def is_test_module(path: str) -> bool:
    """A file pytest collects tests from by default."""
    name = PurePosixPath(path).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def is_source_file(path: str) -> bool:
    pure = PurePosixPath(path)
    return not is_test_file(path) and pure.suffix not in DOC_SUFFIXES and not DOC_DIRS & set(pure.parts[:-1])


def difficulty(files: int, lines: int) -> str:
    if files <= EASY[0] and lines <= EASY[1]:
        return "easy"
    if files <= MEDIUM[0] and lines <= MEDIUM[1]:
        return "medium"
    return "hard"


# --- reading the history ----------------------------------------------------------------------
def open_repo(path: Path) -> RepoInfo:
    """The repository at `path` (its top level), or a TaskError saying what to pass instead."""
    if not path.exists():
        raise TaskError(f"repository {path} does not exist: pass the path of a git repository")
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise TaskError(f"{path} is not a git repository: pass the path of one (a clone with its history)") from None
    with repo:
        if repo.bare or repo.working_tree_dir is None:
            raise TaskError(f"{path} is a bare repository: pass a clone with a working tree")
        if not repo.head.is_valid():
            raise TaskError(f"{path} has no commits yet: there is no history to mine")
        top = Path(repo.working_tree_dir).resolve()
        origin = repo.git.config("--get", "remote.origin.url", with_exceptions=False).strip()
    match = GITHUB_REMOTE.match(origin)
    return RepoInfo(path=top, name=top.name, github=match["repo"] if match else None)


def first_parent_commits(repo: Path, rev_range: str) -> list[str]:
    """The commits of `rev_range`, newest first, following merges through their first parent."""
    if not rev_range.strip() or rev_range.startswith("-"):
        raise TaskError(f"bad --range {rev_range!r}: give a revision range such as HEAD~50..HEAD or v1.0..main")
    with git.Repo(repo) as handle:
        try:
            listed = handle.git.rev_list("--first-parent", rev_range, "--")
        except git.GitCommandError as exc:
            said = str(exc.stderr or "").strip().removeprefix("stderr: '").removesuffix("'").strip().splitlines()
            raise TaskError(
                f"bad --range {rev_range!r} ({said[0] if said else 'git rev-list failed'}): "
                "give a revision range such as HEAD~50..HEAD or v1.0..main"
            ) from None
    return listed.split()


def candidates(repo: Path, shas: list[str]) -> Iterator[Candidate]:
    """The candidates among `shas`, in their order; lazily, so a limit stops the reading early."""
    with git.Repo(repo) as handle:
        for sha in shas:
            found = _candidate(handle, handle.commit(sha))
            if found is not None:
                yield found


def _candidate(handle: git.Repo, commit: git.Commit) -> Candidate | None:
    if not commit.parents:
        return None
    parent = commit.parents[0].hexsha
    status = _changed(handle, parent, commit.hexsha)
    tests = [name for name in status if is_test_file(name)]
    sources = [name for name in status if not is_test_file(name)]
    if not tests or not any(is_source_file(name) for name in sources):
        return None
    try:
        patch = _diff(handle, parent, commit.hexsha, sources)
        test_patch = _diff(handle, parent, commit.hexsha, tests)
    except UnicodeDecodeError:
        return None
    subject, _, body = str(commit.message).strip().partition("\n")
    stats = patch_stats(patch)
    return Candidate(
        sha=commit.hexsha,
        parent=parent,
        subject=subject.strip(),
        body=body.strip(),
        created_at=commit.committed_datetime.isoformat(),
        patch=patch,
        test_patch=test_patch,
        files=sources,
        lines=stats["added"] + stats["removed"],
        test_files=[name for name in tests if is_test_module(name) and status[name] != "D"],
    )


def _changed(handle: git.Repo, parent: str, sha: str) -> dict[str, str]:
    """Path -> status letter (A, M, D, T) of every file `sha` changes against `parent`."""
    out = handle.git.execute(
        ["git", *DIFF, "--name-status", "-z", parent, sha], stdout_as_string=False, strip_newline_in_stdout=False
    )
    fields = bytes(out).decode("utf-8", errors="surrogateescape").split("\0")
    return {path: letter[:1] for letter, path in zip(fields[0::2], fields[1::2], strict=False) if path}


def _diff(handle: git.Repo, parent: str, sha: str, paths: list[str]) -> str:
    out = handle.git.execute(
        ["git", "--literal-pathspecs", *DIFF, *PREFIXES, "--binary", parent, sha, "--", *paths],
        stdout_as_string=False,
        strip_newline_in_stdout=False,
    )
    return bytes(out).decode("utf-8")


# --- the problem statement --------------------------------------------------------------------
IssueLookup = Callable[[str], list[IssueText]]
"""A commit message -> the issues it references, as found (an empty list when none could be)."""


class GitHubIssues:
    """The GitHub issues of one repository that commit messages reference, each fetched once.

    Every failure is silent (the statement keeps just the commit message); after two failures in a
    row it stops asking, so an unreachable GitHub costs two timeouts, not one per commit.
    """

    def __init__(self, repo: str, env: Mapping[str, str]) -> None:
        self.repo, self.env = repo, env
        self.found: dict[int, IssueText | None] = {}
        self.failures = 0

    def __call__(self, message: str) -> list[IssueText]:
        numbers = list(dict.fromkeys(int(number) for number in ISSUE_REF.findall(message)))[:MAX_ISSUES]
        issues = [self._issue(number) for number in numbers]
        return [issue for issue in issues if issue is not None]

    def _issue(self, number: int) -> IssueText | None:
        if number not in self.found and self.failures < 2:
            try:
                self.found[number] = fetch_github_issue(self.repo, number, self.env)
                self.failures = 0
            except TaskError:
                self.found[number] = None
                self.failures += 1
        return self.found.get(number)


def issue_lookup(info: RepoInfo, env: Mapping[str, str]) -> IssueLookup | None:
    """A lookup of referenced issues when GitHub can be asked (a token and a github.com origin), else None."""
    if not env.get("GITHUB_TOKEN", "").strip() or info.github is None:
        return None
    return GitHubIssues(info.github, env)


def problem_statement(candidate: Candidate, lookup: IssueLookup | None) -> str:
    """The commit message, then the title and body of each issue it references that could be read."""
    parts = [candidate.message]
    for issue in lookup(candidate.message) if lookup is not None else []:
        number = issue.source.rpartition("#")[2]
        parts.append(f"Issue #{number}: {issue.title}\n\n{issue.body.strip()}".strip())
    return "\n\n".join(parts)
