"""Mining an eval set: which tests each candidate commit turns from failing to passing, in sandboxes.

Each candidate (`tasks.history.Candidate`) gets two sandboxes at its parent commit, side by side:
one with the test patch applied ("before the change"), one with the gold patch too ("with the
change"); both patches are applied before any test runs. The test modules the test patch touches
run in both at once, `runs` (3) times. FAIL_TO_PASS: the tests that do not pass (fail, error, or
are missing) in any run before and pass in every run with the change; PASS_TO_PASS: those that pass
in every run of both, the first 50 by name. A test that passes in some runs of one side and not in
others is flaky and in neither list. The runs stop as soon as no test is left going from failing to
passing (more runs only remove tests), so a commit that fixes nothing costs one run a side.

A candidate is skipped with one reason of `SKIP_REASONS`: its patches do not apply; its sandbox or
the repository's environment cannot be made (any `AgentError`); its tests cannot run (no test
module left, a timeout, an OOM kill, a module the environment lacks, or, with the change, pytest not
starting or writing no report; before the change a run that reports nothing, such as a conftest
importing what the change adds, means no test passes); or no test goes from failing to passing.
A kept candidate becomes a SWE-bench-style `Task`: the task type from the planner's classifier, the
difficulty from the size of the gold patch (`tasks.history.difficulty`).
"""

from __future__ import annotations

import secrets
import shlex
import threading
from collections.abc import Callable, Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field

from agent.core.config import AgentConfig
from agent.core.errors import AgentError, ConfigError
from agent.core.protocols import Sandbox
from agent.engine.evaluation import DEFAULT_TEST_CMD, OOM_EXIT
from agent.engine.planner import classify
from agent.engine.testing import environment_problem, is_pytest, repo_modules, run_tests, unverifiable
from agent.wiring import model_factory, price_lookup
from tasks.history import Candidate, RepoInfo, difficulty
from tasks.models import Task

RUNS = 3
P2P_CAP = 50
APPLY_TIMEOUT_S = 60
SKIP_REASONS = {
    "does_not_apply": "patch does not apply",
    "environment_error": "environment error",
    "tests_cannot_run": "tests cannot run",
    "no_fail_to_pass": "no FAIL_TO_PASS test",
}
NO_FAIL_TO_PASS = "no test fails before the change and passes after it"
SIDES = ("before the change", "with the change")
TestResults = dict[str, str]
"""One run's node id -> passed|failed|error|skipped."""
Outcome = TestResults | str
"""One run's results, or why the tests cannot run."""


class MineSettings(BaseModel):
    """What every candidate of one mining run shares."""

    model_config = ConfigDict(frozen=True)

    repo: RepoInfo
    test_cmd: str = DEFAULT_TEST_CMD
    setup: str | None = Field(None, description="The environment's setup command, recorded in each task.")
    timeout_s: float = Field(180, description="Per run of the test command.")
    runs: int = Field(RUNS, ge=1, description="Runs per side; a test whose result differs between them is flaky.")
    p2p_cap: int = Field(P2P_CAP, ge=0)


class Verdict(BaseModel):
    """The outcome for one candidate: its test lists, or why it is skipped."""

    skip: str | None = None  # a key of SKIP_REASONS; None when the candidate is kept
    detail: str = ""
    fail_to_pass: list[str] = Field(default_factory=list)
    pass_to_pass: list[str] = Field(default_factory=list)
    flaky: list[str] = Field(default_factory=list)


class Skip(BaseModel):
    commit: str
    subject: str
    reason: str
    detail: str


class MiningProgress(BaseModel):
    """Where a mining run is: sent before each candidate, and once at the end (`current` empty)."""

    scanned: int
    kept: int
    skipped: int
    current: str = ""


class MiningResult(BaseModel):
    tasks: list[Task]
    skips: list[Skip]

    def skipped(self) -> dict[str, int]:
        """Skipped candidates per reason, every reason present."""
        return {reason: sum(skip.reason == reason for skip in self.skips) for reason in SKIP_REASONS}


def _ignore(_value: object) -> None:
    return None


def mine(
    candidates: Iterable[Candidate],
    settings: MineSettings,
    make_sandbox: Callable[[Task], Sandbox],
    *,
    describe: Callable[[Candidate], str],
    classify_text: Callable[[str], str],
    on_task: Callable[[Task], None] = _ignore,
    on_progress: Callable[[MiningProgress], None] = _ignore,
) -> MiningResult:
    """Validate each candidate in turn; `on_task` gets each kept task as soon as it is known."""
    result = MiningResult(tasks=[], skips=[])

    def progress(current: str) -> None:
        done = len(result.tasks) + len(result.skips)
        on_progress(MiningProgress(scanned=done, kept=len(result.tasks), skipped=len(result.skips), current=current))

    for candidate in candidates:
        progress(f"{candidate.sha[:10]} {candidate.subject}")
        verdict = check_candidate(candidate, settings, make_sandbox)
        if verdict.skip is not None:
            result.skips.append(
                Skip(commit=candidate.sha, subject=candidate.subject, reason=verdict.skip, detail=verdict.detail)
            )
            continue
        statement = describe(candidate)
        task = base_task(candidate, settings).model_copy(
            update={
                "problem_statement": statement,
                "FAIL_TO_PASS": verdict.fail_to_pass,
                "PASS_TO_PASS": verdict.pass_to_pass,
                "task_type": classify_text(statement),
            }
        )
        result.tasks.append(task)
        on_task(task)
    progress("")
    return result


def base_task(candidate: Candidate, settings: MineSettings) -> Task:
    """The candidate as a task at its parent, without test lists: what the sandbox factory is given."""
    return Task(
        instance_id=f"{settings.repo.name}__{candidate.sha[:10]}",
        repo=settings.repo.label,
        repo_path=str(settings.repo.path),
        base_commit=candidate.parent,
        problem_statement=candidate.message,
        title=candidate.subject,
        patch=candidate.patch,
        test_patch=candidate.test_patch,
        test_cmd=settings.test_cmd,
        difficulty=difficulty(len(candidate.files), candidate.lines),
        setup=settings.setup,
        source=f"commit {candidate.sha}",
        created_at=candidate.created_at,
    )


def check_candidate(candidate: Candidate, settings: MineSettings, make_sandbox: Callable[[Task], Sandbox]) -> Verdict:
    """One candidate in two sandboxes at its parent; sandbox and environment failures become a skip."""
    if not candidate.test_files:
        return Verdict(skip="tests_cannot_run", detail="the test patch leaves no test module (test_*.py, *_test.py)")
    task = base_task(candidate, settings)
    try:
        with make_sandbox(task) as before, make_sandbox(task) as after:
            return validate(candidate, before, after, settings)
    except AgentError as exc:
        return Verdict(skip="environment_error", detail=str(exc))
    except OSError as exc:  # reading or writing a file in the sandbox failed
        return Verdict(skip="environment_error", detail=f"sandbox file operation failed: {exc}")


def validate(candidate: Candidate, before: Sandbox, after: Sandbox, settings: MineSettings) -> Verdict:
    """The verdict from two sandboxes at the parent, run side by side: `before` with the test patch,
    `after` with the gold patch too. Stops as soon as no test is left going from failing to passing."""
    for sandbox in (before, after):
        if not _apply(sandbox, candidate.test_patch):
            return Verdict(
                skip="does_not_apply", detail="the test patch does not apply at the parent (git apply failed)"
            )
    if not _apply(after, candidate.patch):
        return Verdict(skip="does_not_apply", detail="the patch does not apply at the parent (git apply failed)")
    command = " ".join([settings.test_cmd, *map(shlex.quote, candidate.test_files)])
    modules = repo_modules(settings.repo.path, candidate.sha)  # the packages the change adds are the repo's own
    runs: tuple[list[TestResults], list[TestResults]] = ([], [])
    verdict = Verdict()
    for _ in range(settings.runs):
        both = _at_once(
            lambda: _run(before, command, settings.timeout_s, modules, before_change=True),
            lambda: _run(after, command, settings.timeout_s, modules, before_change=False),
        )
        for side, tests, done in zip(SIDES, both, runs, strict=True):
            if isinstance(tests, str):
                return Verdict(skip="tests_cannot_run", detail=f"{side}: {tests}")
            done.append(tests)
        verdict = judge(*runs, settings.p2p_cap)
        if verdict.skip is not None:
            break
    return verdict


def _at_once(first: Callable[[], Outcome], second: Callable[[], Outcome]) -> tuple[Outcome, Outcome]:
    """Both calls at the same time, `second` in a daemon thread: when `first` fails or is interrupted
    this returns at once (closing the sandboxes ends the other run)."""
    found: list[Outcome | Exception] = []

    def run_second() -> None:
        try:
            found.append(second())
        except Exception as exc:  # handed to the caller below
            found.append(exc)

    thread = threading.Thread(target=run_second, name="mine-side", daemon=True)
    thread.start()
    result = first()
    thread.join()
    if isinstance(found[0], Exception):
        raise found[0]
    return result, found[0]


def judge(before: list[TestResults], after: list[TestResults], p2p_cap: int = P2P_CAP) -> Verdict:
    """FAIL_TO_PASS, PASS_TO_PASS and flaky tests from the runs of each side (a missing test does not pass)."""
    names = sorted(set().union(*before, *after))

    def passes(runs: list[TestResults], name: str) -> set[bool]:
        return {run.get(name) == "passed" for run in runs}

    flaky = [name for name in names if len(passes(before, name)) > 1 or len(passes(after, name)) > 1]
    fail_to_pass = [name for name in names if passes(before, name) == {False} and passes(after, name) == {True}]
    pass_to_pass = [name for name in names if passes(before, name) == {True} == passes(after, name)]
    if not fail_to_pass:
        detail = NO_FAIL_TO_PASS
        if flaky:
            detail += f" (flaky, left out: {', '.join(flaky[:3])})"
        return Verdict(skip="no_fail_to_pass", detail=detail, flaky=flaky)
    return Verdict(fail_to_pass=fail_to_pass, pass_to_pass=pass_to_pass[:p2p_cap], flaky=flaky)


def _apply(sandbox: Sandbox, patch: str) -> bool:
    """`git apply` `patch` in the sandbox's work tree; an empty patch applies."""
    if not patch.strip():
        return True
    path = f"/tmp/agent-mine-{secrets.token_hex(4)}.patch"
    sandbox.write_file(path, patch if patch.endswith("\n") else patch + "\n")
    result = sandbox.exec(f"git apply --whitespace=nowarn {path}", timeout=APPLY_TIMEOUT_S)
    return result.exit_code == 0


def _run(sandbox: Sandbox, command: str, timeout: float, modules: dict[str, str], before_change: bool) -> Outcome:
    """Each test's status from one run, or why the tests cannot run.

    Before the change a run may report nothing (a conftest importing what the change adds): every
    test counts as not passing then; only what no change fixes stops it (a timeout, an OOM kill, a
    third-party module missing, pytest crashing).
    """
    run = run_tests(sandbox, command, timeout)
    if run.timed_out:
        return f"the test command timed out after {timeout:g} s"
    if run.exit_code == OOM_EXIT:
        return "the test command was killed (exit 137, out of memory?): raise sandbox.mem_limit"
    if before_change:
        return environment_problem(run, modules) or run.tests
    if why := unverifiable(run, [], modules):
        return why
    if not run.tests:
        tail = " | ".join(line for line in run.output_tail.strip().splitlines()[-2:] if line.strip())
        return f"pytest wrote no test report (exit {run.exit_code}: {tail})"
    return run.tests


# --- wiring for the command -----------------------------------------------------------------
def settings_for(info: RepoInfo, config: AgentConfig, test_cmd: str | None) -> MineSettings:
    """The run's settings from the configuration (the repository's agent.toml included) and --test-cmd."""
    command = test_cmd or DEFAULT_TEST_CMD
    if not is_pytest(command):
        raise ConfigError(
            f"--test-cmd {command!r} does not run pytest: mining reads each test's result from pytest's "
            "junit report; pass a pytest command such as 'python -m pytest -q'"
        )
    return MineSettings(
        repo=info, test_cmd=command, setup=config.environment.setup, timeout_s=config.sandbox.command_timeout_s
    )


def planner_classifier(config: AgentConfig, env: Mapping[str, str]) -> Callable[[str], str]:
    """The planner's task type for a problem statement: its classifier model when one is set, else its rules."""
    make_model, price_for = model_factory(config, env), price_lookup(config)

    def classify_text(text: str) -> str:
        return classify(text, [], config.planner, make_model, price_for).task_type

    return classify_text
