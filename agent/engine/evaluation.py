"""`evaluate_patch`: judges one attempt's patch on one task the way the SWE-bench harness does.

A fresh sandbox at the base commit; the attempt's patch is applied with `git apply`; the files
the task's `test_patch` touches are reset to the base and `test_patch` is applied; then the test
files holding the FAIL_TO_PASS and PASS_TO_PASS tests run with a junit report, read by node id.
Resolved means every F2P and every P2P test passed; a test missing from the report counts as
failed. A patch that does not apply is the model's failure; sandbox or engine errors, a missing
repository, a timeout of the test command or an OOM kill (exit 137) are infrastructure failures
(`error_kind="infra"`), which say nothing about the model. An empty patch applies trivially: its
report shows the base.
"""

from __future__ import annotations

import re
import secrets
import shlex
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel

from agent.core.errors import SandboxError, TaskError, UnverifiableError
from agent.core.protocols import Sandbox
from agent.engine.testing import TestRun, environment_problem, repo_modules, run_tests
from tasks.loaders import checkout_repo
from tasks.models import Task

DEFAULT_TEST_CMD = "python -m pytest -q"
OOM_EXIT = 137
APPLY_TIMEOUT_S = 60
DIFF_FILE = re.compile(r"^diff --git a/(\S+) b/(\S+)$", re.MULTILINE)


class InstanceReport(BaseModel):
    """The verdict on one patch for one task, in SWE-bench's report terms."""

    instance_id: str
    resolved: bool
    patch_applied: bool
    error_kind: str | None  # None (the model's outcome) | "infra"
    error: str | None
    tests: dict[str, str]  # node id -> passed|failed|error|skipped|missing
    FAIL_TO_PASS: dict[str, list[str]]  # {"success": [...], "failure": [...]}
    PASS_TO_PASS: dict[str, list[str]]
    duration_s: float
    environment_problem: str | None = None
    """Why the tests could not run at all in this environment (a missing module, no tests collected)."""


class _Infra(Exception):
    """An infrastructure failure inside one evaluation."""


def evaluate_patch(
    task: Task, patch: str, sandbox_factory: Callable[[Task], Sandbox], timeout: float = 600, home: Path | None = None
) -> InstanceReport:
    """Apply `patch` and the task's `test_patch` at the base commit and run the F2P and P2P tests.

    A task whose repository is remote is cloned under `home` first (the agent's home).
    """
    started = time.monotonic()

    def report(
        applied: bool, tests: dict[str, str], error: str | None = None, infra: bool = False, problem: str | None = None
    ) -> InstanceReport:
        f2p, p2p = _split(task.FAIL_TO_PASS, tests), _split(task.PASS_TO_PASS, tests)
        resolved = applied and not error and not f2p["failure"] and not p2p["failure"]
        return InstanceReport(
            instance_id=task.instance_id,
            resolved=resolved,
            patch_applied=applied,
            error_kind="infra" if infra else None,
            error=error,
            tests=tests,
            FAIL_TO_PASS=f2p,
            PASS_TO_PASS=p2p,
            duration_s=round(time.monotonic() - started, 3),
            environment_problem=problem,
        )

    applied = False
    try:
        local = checkout_repo(task, home)
        with sandbox_factory(local) as sandbox:
            if not apply_patch(sandbox, patch):
                return report(False, {}, "the patch does not apply at the base commit (git apply failed)")
            applied = True
            _reset_test_files(sandbox, task.test_patch)
            if not apply_patch(sandbox, task.test_patch):
                raise _Infra("the task's test_patch does not apply at the base commit: the task is broken")
            run = _run_selected(sandbox, task, timeout)
            problem = None
            if not isinstance(run, str):
                modules = repo_modules(Path(local.repo_path) if local.repo_path else None, local.base_commit)
                problem = environment_problem(run, modules)
    except UnverifiableError as exc:  # the environment could not be built
        return report(applied, {}, str(exc), infra=True, problem=str(exc))
    except (SandboxError, TaskError, _Infra) as exc:
        return report(applied, {}, str(exc), infra=True)
    except OSError as exc:  # reading or writing a file in the sandbox failed
        return report(applied, {}, f"sandbox file operation failed: {exc}", infra=True)
    if isinstance(run, str):
        return report(True, {}, run, infra=True)
    tests = dict(run.tests)
    for node in dict.fromkeys([*task.FAIL_TO_PASS, *task.PASS_TO_PASS]):
        tests.setdefault(node, "missing")
    return report(True, tests, problem=problem)


def apply_patch(sandbox: Sandbox, patch: str, only: Sequence[str] = ()) -> bool:
    """`git apply` `patch` in the sandbox's work tree (`only`: just its changes to these paths); whether
    it applied. An empty patch applies."""
    if not patch.strip():
        return True
    path = f"/tmp/agent-patch-{secrets.token_hex(4)}.patch"
    sandbox.write_file(path, patch if patch.endswith("\n") else patch + "\n")
    include = "".join(f" --include={shlex.quote(name)}" for name in only)
    result = sandbox.exec(f"git apply --whitespace=nowarn{include} {path}", timeout=APPLY_TIMEOUT_S)
    return result.exit_code == 0


def patch_files(patch: str) -> list[str]:
    """Paths a unified git diff touches (both sides of a rename)."""
    pairs = DIFF_FILE.findall(patch)
    return list(dict.fromkeys(name for pair in pairs for name in pair))


def _reset_test_files(sandbox: Sandbox, test_patch: str) -> None:
    """Undo the attempt's changes to files that `test_patch` touches, as SWE-bench's harness does."""
    for name in patch_files(test_patch):
        quoted = shlex.quote(name)
        sandbox.exec(
            f"if git cat-file -e HEAD:{quoted} 2>/dev/null; then git checkout -q HEAD -- {quoted}; "
            f"else rm -f -- {quoted}; fi",
            timeout=APPLY_TIMEOUT_S,
        )


def _run_selected(sandbox: Sandbox, task: Task, timeout: float) -> TestRun | str:
    """The run of the F2P and P2P tests' files, or why it is an infrastructure failure."""
    selected = list(dict.fromkeys([*task.FAIL_TO_PASS, *task.PASS_TO_PASS]))
    # Whole test files in sorted order (SWE-bench's test directives): tests run in the order they
    # were measured in, which matters when a bug leaks state from one test to the next.
    files = sorted({node.split("::", 1)[0] for node in selected})
    command = " ".join([task.test_cmd or DEFAULT_TEST_CMD, *map(shlex.quote, files)])
    run = run_tests(sandbox, command, timeout)
    if run.timed_out:
        return f"the test command timed out after {timeout:g} s"
    if run.exit_code == OOM_EXIT:
        return "the test command was killed (exit 137, out of memory?): raise sandbox.mem_limit"
    return run


def _split(node_ids: list[str], tests: dict[str, str]) -> dict[str, list[str]]:
    return {
        "success": [node for node in node_ids if tests.get(node) == "passed"],
        "failure": [node for node in node_ids if tests.get(node) != "passed"],
    }
