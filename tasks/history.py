"""Candidate tasks from a repository's own git history, read with git only (nothing is checked out).

`range_commits` lists every commit of a range newest first, the commits merges bring included;
`candidates` turns each commit that changes both source and test files into a `Candidate`: the
parent is the base, the non-test part of the diff is the gold `patch`, the test part the
`test_patch`. What a test file is comes from the repository's configuration at the commit
(`tasks.test_files`); a source file is any other file that is not documentation (`*.md`, `*.rst`,
`*.txt`, `*.adoc`, or under `doc/`/`docs/`). Documentation changes still go into the patch; they
just do not make a commit a candidate. A merge is a candidate (its diff against its first parent)
only when none of the commits it brings is one, so no change counts twice. Root commits have no
base and are never candidates; a commit whose diff is not UTF-8 text is left out.

`difficulty` sizes the gold patch: easy is one file and at most 20 changed lines, medium at most 3
files and 100 lines, hard anything bigger. `problem_statement` is the text of the merge that brought
the commit (a pull request's title and description; `Merges.message_for`), the commit message, and
the GitHub issues either references (`#123`, the pull request itself included), fetched only when
`GITHUB_TOKEN` is set and `origin` is a github.com URL; any failure leaves the messages alone. The
diff never goes into it. `labels` reads a conventional-commit type (`feat:`, `fix(x):`) as the
planner's labels.
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
from tasks.test_files import DEFAULT_LAYOUT, Layouts, TestLayout

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


def is_source_file(path: str, layout: TestLayout = DEFAULT_LAYOUT) -> bool:
    pure = PurePosixPath(path)
    return not layout.is_test_file(path) and pure.suffix not in DOC_SUFFIXES and not DOC_DIRS & set(pure.parts[:-1])


def difficulty(files: int, lines: int) -> str:
    if files <= EASY[0] and lines <= EASY[1]:
        return "easy"
    if files <= MEDIUM[0] and lines <= MEDIUM[1]:
        return "medium"
    return "hard"


# --- reading the history ----------------------------------------------------------------------
def git_repo(path: Path, missing: str, not_git: str) -> git.Repo:
    """The git repository at `path` or above it; a TaskError ending with `missing` (no such path) or
    `not_git` (no repository there) saying what to do instead."""
    if not path.exists():
        raise TaskError(f"repository {path} does not exist: {missing}")
    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise TaskError(f"{path} is not a git repository: {not_git}") from None


def open_repo(path: Path) -> RepoInfo:
    """The repository at `path` (its top level), or a TaskError saying what to pass instead."""
    repo = git_repo(path, "pass the path of a git repository", "pass the path of one (a clone with its history)")
    with repo:
        if repo.bare or repo.working_tree_dir is None:
            raise TaskError(f"{path} is a bare repository: pass a clone with a working tree")
        if not repo.head.is_valid():
            raise TaskError(f"{path} has no commits yet: there is no history to mine")
        top = Path(repo.working_tree_dir).resolve()
        origin = repo.git.config("--get", "remote.origin.url", with_exceptions=False).strip()
    match = GITHUB_REMOTE.match(origin)
    return RepoInfo(path=top, name=top.name, github=match["repo"] if match else None)


def range_commits(repo: Path, rev_range: str) -> list[str]:
    """Every commit of `rev_range`, newest first: the commits each merge brings are listed too."""
    if not rev_range.strip() or rev_range.startswith("-"):
        raise TaskError(f"bad --range {rev_range!r}: give a revision range such as HEAD~50..HEAD or v1.0..main")
    with git.Repo(repo) as handle:
        try:
            listed = handle.git.rev_list(rev_range, "--")
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
        scan = _Scan(handle)
        for sha in shas:
            found = scan.candidate(handle.commit(sha))
            if found is not None:
                yield found


class _Scan:
    """Which commits of one repository are candidates, each commit judged once."""

    def __init__(self, handle: git.Repo) -> None:
        self.handle, self.layouts = handle, Layouts(handle)
        self.known: dict[str, bool] = {}

    def candidate(self, commit: git.Commit) -> Candidate | None:
        if len(commit.parents) > 1 and any(self.is_candidate(self.handle.commit(sha)) for sha in self.brought(commit)):
            return None  # its changes are candidates already, in the commits it brings
        found = _candidate(self.handle, commit, self.layouts.at(commit.hexsha))
        self.known[commit.hexsha] = found is not None
        return found

    def is_candidate(self, commit: git.Commit) -> bool:
        if commit.hexsha not in self.known:
            self.candidate(commit)
        return self.known[commit.hexsha]

    def brought(self, merge: git.Commit) -> list[str]:
        """The commits a merge brings: reachable from its other parents, not from its first."""
        others = [parent.hexsha for parent in merge.parents[1:]]
        return str(self.handle.git.rev_list(*others, f"^{merge.parents[0].hexsha}", "--")).split()


def _candidate(handle: git.Repo, commit: git.Commit, layout: TestLayout) -> Candidate | None:
    if not commit.parents:
        return None
    parent = commit.parents[0].hexsha
    status = _changed(handle, parent, commit.hexsha)
    tests = [name for name in status if layout.is_test_file(name)]
    sources = [name for name in status if not layout.is_test_file(name)]
    if not tests or not any(is_source_file(name, layout) for name in sources):
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
        test_files=[name for name in tests if layout.is_test_module(name) and status[name] != "D"],
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


class Merges:
    """The merge that brought each commit into the range's tips: a pull request's merge, whose
    message (title and description) says what the change is for."""

    def __init__(self, repo: Path, rev_range: str) -> None:
        self.repo = repo
        with git.Repo(repo) as handle:
            parsed = str(handle.git.rev_parse(*rev_range.split(), "--")).split()
        self.tips = [sha for sha in parsed if sha != "--" and not sha.startswith("^")]
        self.mainline: set[str] | None = None  # the tips' first-parent commits: no merge brought them

    def message_for(self, sha: str) -> str | None:
        """The message of the oldest merge whose other parents bring `sha` (None: no merge did, or it
        says nothing more than `Merge branch ...`)."""
        with git.Repo(self.repo) as handle:
            if self.mainline is None:
                self.mainline = {sha for tip in self.tips for sha in handle.git.rev_list("--first-parent", tip).split()}
            if sha in self.mainline:
                return None
            for tip in self.tips:
                merges = str(handle.git.rev_list("--ancestry-path", "--merges", "--reverse", f"{sha}..{tip}", "--"))
                for merge in map(handle.commit, merges.split()):
                    if not handle.is_ancestor(handle.commit(sha), merge.parents[0]):
                        return _told(str(merge.message))
        return None


def _told(message: str) -> str | None:
    subject, _, body = message.strip().partition("\n")
    return None if subject.startswith("Merge ") and not body.strip() else message.strip()


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


class Statement(BaseModel):
    """A candidate's problem statement and the labels the planner classifies it with."""

    text: str
    labels: list[str]


CONVENTIONAL_TYPE = re.compile(r"^(\w+)(?:\([^)]*\))?!?:", re.MULTILINE)
TYPE_LABELS = {"feat": "feature", "feature": "feature", "fix": "bug", "bugfix": "bug", "refactor": "refactor"}
TYPE_LABELS |= {"test": "tests", "tests": "tests", "perf": "enhancement"}


def problem_statement(candidate: Candidate, lookup: IssueLookup | None, merged_by: str | None = None) -> Statement:
    """The message of the merge that brought the commit (when it says something), the commit message,
    then the title and body of each issue either references that could be read; the labels are the
    conventional-commit types of those messages and the issues' own labels."""
    messages = [merged_by] if merged_by and merged_by != candidate.message else []
    messages.append(candidate.message)
    parts = list(messages)
    labels = [TYPE_LABELS.get(kind.lower(), "") for kind in CONVENTIONAL_TYPE.findall("\n".join(messages))]
    for issue in lookup("\n\n".join(messages)) if lookup is not None else []:
        number = issue.source.rpartition("#")[2]
        parts.append(f"Issue #{number}: {issue.title}\n\n{issue.body.strip()}".strip())
        labels += issue.labels
    return Statement(text="\n\n".join(parts), labels=list(dict.fromkeys(label for label in labels if label)))
