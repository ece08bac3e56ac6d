"""Build and test artifacts never reach a patch: the live work diff, the final diff and the branch.

End to end on real git repositories without a `.gitignore`, in both sandbox kinds: the repo's
tests run inside (leaving `__pycache__/` and `.pytest_cache/`), a build step leaves one of every
artifact in `sandboxes.artifacts.ARTIFACTS`, the model edits a `.py` file, and the delivered
patch and branch hold that edit only. Directories tracked at the base (a real `build/`) stay in.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sandbox_helpers import ensure_image, git, make_repo, requires_docker

from agent.core.config import SandboxConfig
from agent.core.errors import SandboxError
from agent.core.messages import ToolCall
from agent.engine.delivery import commit_patch
from agent.engine.work_patch import WorkPatchWatcher, work_patch_event
from sandboxes import sandbox_class
from sandboxes.artifacts import ARTIFACTS, INSTALL_SCRIPT, ArtifactRules, install_failed
from sandboxes.docker_sandbox import DockerSandbox
from sandboxes.local_sandbox import LocalSandbox

CALC = {
    "README.md": "# calc\n",
    "calc/__init__.py": "from calc.ops import add\n",
    "calc/ops.py": "def add(a, b):\n    return a - b\n",
    "tests/test_ops.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}
FIXED = "def add(a, b):\n    return sum((a, b))\n"
"""A different size from the bug, so Python never runs the stale bytecode of the same second."""


def leftovers() -> list[str]:
    """One file per artifact pattern, at the top and one level down (what builds and test runs leave)."""
    paths = []
    for pattern in ARTIFACTS:
        name = pattern.rstrip("/").replace("*", "calc")
        sample = f"{name}/leftover" if pattern.endswith("/") else name
        paths += [sample, f"calc/{sample}"]
    return paths


@pytest.fixture(params=["local", pytest.param("docker", marks=requires_docker)])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "docker":
        ensure_image(SandboxConfig().image)
    return str(request.param)


def open_sandbox(kind: str, repo: Path, base: str) -> DockerSandbox | LocalSandbox:
    return sandbox_class(kind)(SandboxConfig(kind=kind), repo, base, f"test-artifacts-{kind}")


def python(kind: str) -> str:
    """The Python that runs the repository's tests inside the sandbox."""
    return "python" if kind == "docker" else shlex.quote(sys.executable)


def blob(repo: Path, text: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "hash-object", "--stdin"], input=text, capture_output=True, text=True
    )
    return done.stdout.strip()[:7]


def changed_files(patch: str) -> list[str]:
    return [line.split(" b/", 1)[1] for line in patch.splitlines() if line.startswith("diff --git ")]


@pytest.fixture
def calc(tmp_path: Path) -> tuple[Path, str]:
    return make_repo(tmp_path, CALC)


def test_delivered_patch_and_branch_hold_only_the_source_edit(kind: str, calc: tuple[Path, str]) -> None:
    repo, base = calc
    expected = (
        "diff --git a/calc/ops.py b/calc/ops.py\n"
        f"index {blob(repo, CALC['calc/ops.py'])}..{blob(repo, FIXED)} 100644\n"
        "--- a/calc/ops.py\n"
        "+++ b/calc/ops.py\n"
        "@@ -1,2 +1,2 @@\n"
        " def add(a, b):\n"
        "-    return a - b\n"
        "+    return sum((a, b))\n"
    )
    events: list[tuple[str, dict]] = []
    with open_sandbox(kind, repo, base) as sandbox:
        assert sandbox.exec(f"{python(kind)} -m pytest -q").exit_code == 1
        sandbox.write_file("calc/ops.py", FIXED)
        assert sandbox.exec(f"{python(kind)} -m pytest -q").exit_code == 0
        made = " ".join(shlex.quote(path) for path in leftovers())
        assert sandbox.exec(f'for p in {made}; do mkdir -p "$(dirname "$p")" && echo x > "$p"; done').exit_code == 0
        found = sandbox.exec("ls -d calc/__pycache__ tests/__pycache__ .pytest_cache build/leftover").output
        assert found == ".pytest_cache\nbuild/leftover\ncalc/__pycache__\ntests/__pycache__\n"
        assert sandbox.exec("git status --short --untracked-files=all").output == " M calc/ops.py\n"

        watcher = WorkPatchWatcher(sandbox.diff, lambda name, data: events.append((name, data)))
        watcher.after_turn(3, [ToolCall(id="t1", name="bash", input={"command": "python -m pytest -q"})])
        deadline = time.monotonic() + 60
        while not events and time.monotonic() < deadline:  # close() drops a look that has not started
            time.sleep(0.01)
        watcher.close()
        patch = sandbox.diff()

    assert events == [("work_patch", work_patch_event(3, expected))]
    assert events[0][1] | {"patch": ""} == {"turn": 3, "patch": "", "files": 1, "added": 1, "removed": 1}
    assert patch == expected
    branch = commit_patch(repo, base, patch, "fix-add", "Fix add")
    assert git(repo, "diff", "--name-only", base, branch) == "calc/ops.py"
    assert git(repo, "ls-tree", "-r", "--name-only", branch).splitlines() == sorted(CALC)
    assert git(repo, "show", f"{branch}:calc/ops.py") + "\n" == FIXED


def test_artifacts_stay_out_when_the_model_force_adds_them_and_deletes_the_exclude_files(
    kind: str, calc: tuple[Path, str]
) -> None:
    repo, base = calc
    with open_sandbox(kind, repo, base) as sandbox:
        sandbox.exec(f"{python(kind)} -m pytest -q")
        sandbox.write_file("calc/ops.py", FIXED)
        sandbox.write_file("calc/extra.py", "X = 1\n")
        made = " ".join(shlex.quote(path) for path in leftovers())
        sandbox.exec(f'for p in {made}; do mkdir -p "$(dirname "$p")" && echo x > "$p"; done')
        excludes = shlex.quote(sandbox.excludes_file)
        assert sandbox.exec(f"rm .git/info/exclude {excludes} && git add -A -f").exit_code == 0
        assert sandbox.exec("git ls-files build/leftover .pytest_cache/README.md").output == (
            ".pytest_cache/README.md\nbuild/leftover\n"
        )
        patch = sandbox.diff()
    assert changed_files(patch) == ["calc/extra.py", "calc/ops.py"]
    branch = commit_patch(repo, base, patch, "fix-add", "Fix add")
    assert git(repo, "diff", "--name-only", base, branch).splitlines() == ["calc/extra.py", "calc/ops.py"]


TRACKED_BUILD = {
    "README.md": "# tool\n",
    "build/gen.py": "STEP = 1\n",
    "tools/dist/pack.py": "PACK = 1\n",
    "vendor/node_modules/dep/index.js": "module.exports = 1;\n",
    "legacy/__pycache__/keep.pyc": "tracked bytes\n",
}


def test_changes_under_directories_tracked_at_the_base_are_kept(kind: str, tmp_path: Path) -> None:
    repo, base = make_repo(tmp_path, TRACKED_BUILD)
    with open_sandbox(kind, repo, base) as sandbox:
        sandbox.write_file("build/gen.py", "STEP = 2\n")
        sandbox.write_file("build/extra.py", "EXTRA = 1\n")
        sandbox.write_file("tools/dist/new.py", "NEW = 1\n")
        sandbox.write_file("vendor/node_modules/dep/index.js", "module.exports = 2;\n")
        sandbox.write_file("legacy/__pycache__/keep.pyc", "changed bytes\n")
        made = (
            "dist/tool-0.1.tar.gz build/__pycache__/gen.cpython-311.pyc node_modules/left/x.js legacy/__pycache__/n.pyc"
        )
        sandbox.exec(f'for p in {made}; do mkdir -p "$(dirname "$p")" && echo x > "$p"; done')
        patch = sandbox.diff()
    kept = [
        "build/extra.py",
        "build/gen.py",
        "legacy/__pycache__/keep.pyc",
        "tools/dist/new.py",
        "vendor/node_modules/dep/index.js",
    ]
    assert changed_files(patch) == kept
    branch = commit_patch(repo, base, patch, "tracked-build", "Edit build")
    assert git(repo, "diff", "--name-only", base, branch).splitlines() == kept
    assert git(repo, "show", f"{branch}:build/gen.py") == "STEP = 2"


def test_rules_reinclude_tracked_directories_and_drop_their_pathspecs() -> None:
    rules = ArtifactRules.for_paths(["build/gen.py", "src/build/x.py", "a b/dist/[1].py", "calc/ops.py"])
    lines = rules.exclude_text.splitlines()
    assert lines[0] == "# build and test artifacts: never part of an agent's patch"
    assert lines[1:] == [
        *ARTIFACTS[: ARTIFACTS.index("build/")],
        "build/",
        "!/build/",
        "!/src/build/",
        "dist/",
        "!/a\\ b/dist/",
    ]
    assert rules.pathspecs == (
        ":(exclude,glob)**/__pycache__/**",
        ":(exclude,glob)**/*.pyc",
        ":(exclude,glob)**/*.pyo",
        ":(exclude,glob)**/.pytest_cache/**",
        ":(exclude,glob)**/.mypy_cache/**",
        ":(exclude,glob)**/.ruff_cache/**",
        ":(exclude,glob)**/.hypothesis/**",
        ":(exclude,glob)**/*.egg-info/**",
        ":(exclude,glob)**/.eggs/**",
        ":(exclude,glob)**/.tox/**",
        ":(exclude,glob)**/.nox/**",
        ":(exclude,glob)**/.venv/**",
        ":(exclude,glob)**/.coverage",
        ":(exclude,glob)**/.coverage.*",
        ":(exclude,glob)**/htmlcov/**",
        ":(exclude,glob)**/node_modules/**",
    )


def test_install_fails_loudly_when_git_info_cannot_be_made(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    shutil.rmtree(repo / ".git" / "info", ignore_errors=True)
    (repo / ".git" / "info").write_text("a file where a directory belongs\n")
    done = subprocess.run(
        ["bash", "-c", INSTALL_SCRIPT, "bash", str(tmp_path / "excludes")],
        cwd=repo,
        input=ArtifactRules.for_paths([]).exclude_text,
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "LANG": "C"},
    )
    assert done.returncode == 1
    error = install_failed(done.returncode, done.stderr)
    assert isinstance(error, SandboxError)
    assert str(error) == (
        "could not install the artifact excludes in the sandbox's git repository (exit 1): "
        "mkdir: cannot create directory '.git/info': File exists; check that the work directory and /tmp "
        "are writable and that git works there, then start the run again"
    )
