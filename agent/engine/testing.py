"""Runs the test command in a sandbox and reads per-test status from pytest's junit XML.

An attempt passes when the test command exits 0; with `--target` tests it passes when every
target passes and no test that passed at baseline fails. Per-test status comes from the
junit report, never from scraping the console text.
"""

from __future__ import annotations

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
    output_tail: str = ""

    @property
    def passed_ids(self) -> set[str]:
        return {test for test, status in self.tests.items() if status == "passed"}

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for status in self.tests.values():
            counts[status] = counts.get(status, 0) + 1
        return counts

    def summary(self) -> str:
        counts = self.counts()
        parts = [f"{counts[key]} {key}" for key in ("passed", "failed", "error", "skipped") if counts.get(key)]
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


def with_junit(command: str, report_path: str) -> str:
    """Add a junit report (xunit1, which carries the test file) to a pytest command."""
    if not is_pytest(command):
        return command
    extra = f"--junitxml={shlex.quote(report_path)} -o junit_family=xunit1 -p no:cacheprovider"
    return f"{PYTEST_ENV} {command} {extra}"


class _PytestCase(TestCase):
    """A junit test case with the `file` attribute pytest's xunit1 family writes."""

    file = Attr()


def parse_junit(xml_text: str) -> dict[str, str]:
    """Map pytest node ids (`tests/test_x.py::TestY::test_z`) to passed/failed/error/skipped."""
    results: dict[str, str] = {}
    report = JUnitXml.fromstring(xml_text)
    suites = [report] if isinstance(report, TestSuite) else list(report)
    for suite in suites:
        for plain in suite:
            case = _PytestCase.fromelem(plain)
            name, file, classname = case.name or "", case.file, case.classname or ""
            if file:
                module = file.removesuffix(".py").replace("/", ".")
                classes = classname[len(module) :].strip(".") if classname.startswith(module) else ""
                node = "::".join(part for part in [file, *classes.split(".")] if part) + f"::{name}"
            else:
                node = f"{classname}::{name}"
            results[node] = _status(case)
    return results


def _status(case: TestCase) -> str:
    kinds = {type(result) for result in case.result}
    if Failure in kinds:
        return "failed"
    if Error in kinds:
        return "error"
    if Skipped in kinds:
        return "skipped"
    return "passed"


def run_tests(sandbox: Sandbox, command: str, timeout: float) -> TestRun:
    report = f"/tmp/agent-junit-{uuid.uuid4().hex[:8]}.xml"
    result = sandbox.exec(with_junit(command, report), timeout=timeout)
    tests: dict[str, str] = {}
    if is_pytest(command):
        try:
            tests = parse_junit(sandbox.read_file(report))
        except (OSError, SandboxError, SyntaxError):  # XML parse errors derive from SyntaxError
            tests = {}  # no report: the command never reached pytest, or crashed it
        sandbox.exec(f"rm -f {report}", timeout=30)
    return TestRun(
        command=command,
        exit_code=result.exit_code,
        timed_out=result.timed_out,
        duration_s=result.duration,
        tests=tests,
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
    `src/` package when the project is not installed), a pytest internal error, or a run that
    collected no test: none of them is something a patch could be judged by. A missing submodule
    of the repository's own package is the code's business, not the environment's.
    """
    tail = " | ".join(line for line in run.output_tail.strip().splitlines()[-2:] if line.strip())
    for match in reversed(list(MISSING_MODULE.finditer(run.output_tail))):  # the last one is what failed
        module = match.group(1)
        top = module.split(".")[0]
        if modules.get(top) == "root" or (top in modules and "." in module):
            continue
        if modules.get(top) == "src":
            return (
                f"the tests cannot import the project's own {top!r} (under src/, not installed): "
                "let the environment install it ([environment] detect = true) or set [environment] setup / --setup"
            )
        return f"the tests cannot import {module!r}, which the sandbox lacks: {FIX_ENVIRONMENT}"
    if not is_pytest(run.command) or run.tests:
        return None
    if run.exit_code == PYTEST_INTERNAL_ERROR:
        return f"pytest crashed before running any test (internal error, exit 3: {tail}): fix the environment"
    if run.exit_code == PYTEST_NO_TESTS:
        return "the test command collected no tests (exit 5): fix --test-cmd or the test paths"
    return None


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
    if targets and is_pytest(baseline.command):
        missing = [target for target in targets if target not in baseline.tests]
        if missing:
            known = ", ".join(sorted(baseline.tests)[:3]) or "none"
            return (
                f"--target {', '.join(missing[:3])} is not a test the test command runs (tests seen: {known} ...): "
                "fix --target"
            )
    return None


def judge(run: TestRun, targets: list[str], baseline: TestRun | None) -> tuple[bool, str]:
    """Did the attempt pass? Returns the verdict and a one-line reason."""
    if run.timed_out:
        return False, "the test command timed out"
    if not targets:
        if run.exit_code == 0:
            return True, f"test command passed: {run.summary()}"
        return False, f"test command failed: {run.summary()}"
    missing = [t for t in targets if run.tests.get(t) != "passed"]
    broken = sorted((baseline.passed_ids if baseline else set()) - run.passed_ids)
    if missing:
        return False, f"target tests not passing: {', '.join(missing[:5])}"
    if broken:
        return False, f"tests that passed at baseline now fail: {', '.join(broken[:5])}"
    return True, f"all {len(targets)} target test(s) pass and nothing that passed before broke"
