"""Runs the test command in a sandbox and reads per-test status from pytest's junit XML.

Per-test status (and the test files pytest could not collect) comes from the junit report, never
from scraping the console text. How a run is judged against the baseline is `verdict.py`.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import uuid
from pathlib import Path

from junitparser import Attr, Error, Failure, JUnitXml, Skipped, TestCase, TestSuite
from pydantic import BaseModel, Field

from agent.core.errors import SandboxError
from agent.core.host_git import tracked_files
from agent.core.protocols import Sandbox

PYTEST_MARKERS = ("pytest.ini", "conftest.py", "tox.ini", "setup.cfg", "pyproject.toml")
PYTEST_ENV = "PYTHONDONTWRITEBYTECODE=1"


class TestRun(BaseModel):
    """The outcome of one run of the test command."""

    __test__ = False  # not a pytest test class

    command: str
    exit_code: int
    timed_out: bool = False
    duration_s: float = 0.0
    tests: dict[str, str] = Field(default_factory=dict, description="node id -> passed|failed|error|skipped")
    collection_errors: dict[str, str] = Field(
        default_factory=dict, description="test file pytest could not collect -> the error's last line"
    )
    output_tail: str = ""

    @property
    def passed_ids(self) -> set[str]:
        return {test for test, status in self.tests.items() if status == "passed"}

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for status in self.tests.values():
            counts[status] = counts.get(status, 0) + 1
        return counts

    @property
    def failing_ids(self) -> set[str]:
        return {test for test, status in self.tests.items() if status in ("failed", "error")}

    def summary(self) -> str:
        counts = self.counts()
        parts = [f"{counts[key]} {key}" for key in ("passed", "failed", "error", "skipped") if counts.get(key)]
        if self.collection_errors:
            parts.append(f"{len(self.collection_errors)} file(s) not collected")
        state = "timed out" if self.timed_out else f"exit {self.exit_code}"
        return f"{', '.join(parts) or 'no test report'} ({state})"


def detect_test_cmd(repo: Path) -> str | None:
    """The usual test command for a repository, or None when nothing recognisable is there."""
    if any((repo / name).exists() for name in PYTEST_MARKERS) or (repo / "tests").is_dir():
        return "python -m pytest -q"
    if any(repo.glob("test_*.py")) or any(repo.glob("*/test_*.py")):
        return "python -m pytest -q"
    return None


def is_pytest(command: str) -> bool:
    return "pytest" in command


def with_junit(command: str, report_path: str, keep_going: bool = False) -> str:
    """Add a junit report (xunit1, which carries the test file) to a pytest command.

    `keep_going`: a file pytest cannot collect does not stop the session, so the other files'
    results are known too (the runner's own judging). Without it, a collection error interrupts the
    run, as in the SWE-bench harness whose FAIL_TO_PASS lists were measured that way.
    """
    if not is_pytest(command):
        return command
    extra = f"--junitxml={shlex.quote(report_path)} -o junit_family=xunit1 -p no:cacheprovider"
    if keep_going:
        extra += " --continue-on-collection-errors"
    return f"{PYTEST_ENV} {command} {extra}"


class _PytestCase(TestCase):
    """A junit test case with the `file` attribute pytest's xunit1 family writes."""

    file = Attr()


class JunitReport(BaseModel):
    tests: dict[str, str]
    collection_errors: dict[str, str]


COLLECTION_FAILURE = "collection failure"


def read_junit(xml_text: str) -> JunitReport:
    """Per-test status by pytest node id, and the files pytest could not collect with their error."""
    results: dict[str, str] = {}
    uncollected: dict[str, str] = {}
    report = JUnitXml.fromstring(xml_text)
    suites = [report] if isinstance(report, TestSuite) else list(report)
    for suite in suites:
        for plain in suite:
            case = _PytestCase.fromelem(plain)
            name, file, classname = case.name or "", case.file, case.classname or ""
            failure = next((r for r in case.result if isinstance(r, Error) and r.message == COLLECTION_FAILURE), None)
            if failure is not None:
                where = file or name.replace(".", "/") + ".py"
                uncollected[where] = _last_error_line(failure.text or "")
                continue
            if file:
                module = file.removesuffix(".py").replace("/", ".")
                classes = classname[len(module) :].strip(".") if classname.startswith(module) else ""
                node = "::".join(part for part in [file, *classes.split(".")] if part) + f"::{name}"
            else:
                node = f"{classname}::{name}"
            results[node] = _status(case)
    return JunitReport(tests=results, collection_errors=uncollected)


def parse_junit(xml_text: str) -> dict[str, str]:
    """Map pytest node ids (`tests/test_x.py::TestY::test_z`) to passed/failed/error/skipped."""
    return read_junit(xml_text).tests


def _last_error_line(text: str) -> str:
    """The exception a collection error ended in (`E   ModuleNotFoundError: ...`), or its last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line.removeprefix("E").strip() for line in lines if line.startswith("E ")]
    return (errors or lines or [""])[-1]


def _status(case: TestCase) -> str:
    kinds = {type(result) for result in case.result}
    if Failure in kinds:
        return "failed"
    if Error in kinds:
        return "error"
    if Skipped in kinds:
        return "skipped"
    return "passed"


def run_tests(sandbox: Sandbox, command: str, timeout: float, keep_going: bool = False) -> TestRun:
    report = f"/tmp/agent-junit-{uuid.uuid4().hex[:8]}.xml"
    result = sandbox.exec(with_junit(command, report, keep_going), timeout=timeout)
    junit = JunitReport(tests={}, collection_errors={})
    if is_pytest(command):
        # no report: the command never reached pytest, or crashed it (XML parse errors are SyntaxErrors)
        with contextlib.suppress(OSError, SandboxError, SyntaxError):
            junit = read_junit(sandbox.read_file(report))
        sandbox.exec(f"rm -f {report}", timeout=30)
    return TestRun(
        command=command,
        exit_code=result.exit_code,
        timed_out=result.timed_out,
        duration_s=result.duration,
        **junit.model_dump(),
        output_tail=result.output[-3000:],
    )


CANNOT_RUN = {126: "is not executable", 127: "was not found"}
PYTEST_INTERNAL_ERROR, PYTEST_USAGE_ERROR, PYTEST_NO_TESTS = 3, 4, 5
MISSING_MODULE = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '?([A-Za-z0-9_.]+)'?")
FIX_ENVIRONMENT = "declare it in the repository's dependencies, or set [environment] setup / --setup"


def repo_modules(repo: Path | None, commit: str) -> dict[str, str]:
    """Top-level module and package names of the repository at `commit`: name -> `root` or `src`."""
    if repo is None:
        return {}

    def failed(verb: str, detail: str) -> Exception:
        return SandboxError(f"git {verb} in {repo} failed: {detail}")

    found: dict[str, str] = {}
    for name in tracked_files(repo, commit, failed):
        parts = name.split("/")
        if parts[0] == "src" and len(parts) > 1:
            found.setdefault(parts[1].removesuffix(".py"), "src")
        else:
            found[parts[0].removesuffix(".py")] = "root"
    return found


def environment_problem(run: TestRun, modules: dict[str, str]) -> str | None:
    """Why this environment cannot run the tests at all (None: it can, whatever they say).

    A module the tests import that the sandbox lacks (a third-party one, or the repository's own
    `src/` package when the project is not installed), a test file pytest cannot collect for a
    reason no code change fixes, a pytest internal error, or a run that collected no test: none of
    them is something a patch could be judged by. A missing submodule of the repository's own
    package, or a syntax error in it, is the code's business, not the environment's.
    """
    tail = " | ".join(line for line in run.output_tail.strip().splitlines()[-2:] if line.strip())
    for match in reversed(list(MISSING_MODULE.finditer(run.output_tail))):  # the last one is what failed
        module = match.group(1)
        top = module.split(".")[0]
        if modules.get(top) == "root" or (top in modules and "." in module):
            continue
        files = [file for file, error in sorted(run.collection_errors.items()) if f"'{module}'" in error]
        where = f" (pytest cannot collect {', '.join(files[:5])})" if files else ""
        if modules.get(top) == "src":
            return (
                f"the tests cannot import the project's own {top!r} (under src/, not installed){where}: "
                "let the environment install it ([environment] detect = true) or set [environment] setup / --setup"
            )
        return f"the tests cannot import {module!r}, which the sandbox lacks{where}: {FIX_ENVIRONMENT}"
    if uncollected := environment_collection_errors(run, modules):
        listed = "; ".join(f"{file} ({error})" for file, error in sorted(uncollected.items())[:5])
        return (
            f"pytest cannot collect {len(uncollected)} test file(s): {listed}: fix the environment "
            "(its dependencies, [environment] setup / --setup) or leave those files out of --test-cmd"
        )
    if not is_pytest(run.command) or run.tests:
        return None
    if run.exit_code == PYTEST_INTERNAL_ERROR:
        return f"pytest crashed before running any test (internal error, exit 3: {tail}): fix the environment"
    if run.exit_code == PYTEST_NO_TESTS:
        return "the test command collected no tests (exit 5): fix --test-cmd or the test paths"
    return None


CODE_ERRORS = re.compile(r"^(SyntaxError|IndentationError|TabError|NameError|AttributeError)\b|cannot import name")
"""Collection errors a change to the repository's code fixes (a syntax error, a name the tests import
that the code lacks yet), as opposed to the environment's."""


def environment_collection_errors(run: TestRun, modules: dict[str, str]) -> dict[str, str]:
    """The test files pytest could not collect for a reason no patch to the code fixes."""
    found = {}
    for file, error in run.collection_errors.items():
        missing = MISSING_MODULE.search(error)
        if missing is not None:
            module = missing.group(1)
            if modules.get(module.split(".")[0]) == "root" or ("." in module and module.split(".")[0] in modules):
                continue  # the repository's own module or submodule: the code's business
        elif CODE_ERRORS.search(error):
            continue
        found[file] = error
    return found


def unverifiable(baseline: TestRun, targets: list[str], modules: dict[str, str] | None = None) -> str | None:
    """Why no attempt could ever be verified against this baseline (with what to do), or None."""
    tail = " | ".join(line for line in baseline.output_tail.strip().splitlines()[-2:] if line.strip())
    if baseline.exit_code in CANNOT_RUN and not baseline.tests:
        return (
            f"the test command {CANNOT_RUN[baseline.exit_code]} in the sandbox (exit {baseline.exit_code}: {tail}): "
            "fix --test-cmd or the environment"
        )
    if is_pytest(baseline.command) and baseline.exit_code == PYTEST_USAGE_ERROR and not baseline.tests:
        return f"pytest could not start (usage error, exit 4: {tail}): fix --test-cmd"
    problem = environment_problem(baseline, modules or {})
    if problem is not None:
        return problem
    if not baseline.tests and not baseline.collection_errors:
        return (
            f"the test command ran no test the runner can see (no per-test report, exit {baseline.exit_code}): "
            "pass a pytest command with --test-cmd, e.g. 'python -m pytest -q'"
        )
    if targets:
        missing = [target for target in targets if target not in baseline.tests]
        if missing:
            known = ", ".join(sorted(baseline.tests)[:3]) or "none"
            return (
                f"--target {', '.join(missing[:3])} is not a test the test command runs (tests seen: {known} ...): "
                "fix --target"
            )
        if all(baseline.tests[target] == "passed" for target in targets):
            return (
                f"--target {', '.join(targets[:3])} already passes at the base commit, so it cannot show the fix: "
                "name a test that fails there, or leave --target out and let the model write one"
            )
    return None


def unusable_test_command(command: str) -> str | None:
    """Why `command` can never show a fix (it runs no test whose result the runner can read), or None."""
    if not command.strip():
        return "--test-cmd is empty: pass a pytest command, e.g. 'python -m pytest -q'"
    if not is_pytest(command):
        return (
            f"--test-cmd {command!r} does not run pytest: the runner judges a fix by each test's result "
            "in pytest's junit report (pytest runs unittest tests too); pass e.g. 'python -m pytest -q'"
        )
    return None
