"""Environments for real PyPI projects, one per build backend: cold and cached builds, tests at two commits.

Each project is a git repository of two releases' sdists (`tests/sdist_helpers.py`): the older
release tagged, then the newer one tagged as HEAD. Cold: the environment image is removed first,
so the time covers detection, the host's wheelhouse (pip's own download cache may be
warm), asking the backend what an editable build needs, and the offline build. Cached: a new
`Environments` (as a new run makes) finds the image by its key. Then the project's own tests run
in a sandbox at HEAD and at the older commit (whose environment is built cold too, or is HEAD's
image when its dependency files are the same). No `--setup` anywhere.

Usage: python benchmarks/environments_real.py [NAME ...]   (default: every project)
Write the result with: python benchmarks/environments_real.py > benchmarks/results/environments_real.txt
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.core.config import AgentConfig, load_config
from sandboxes import make_sandbox
from sandboxes.engine import docker_client
from sandboxes.environment import Environments, Prepared
from tests.sdist_helpers import REAL_PROJECTS, RealProject, release_repo

SDIST_CACHE = Path(tempfile.gettempdir()) / "agent-bench-sdists"
SUMMARY = re.compile(r"\d+ (?:passed|failed|error|skipped)[^\n]*")


def tests_at(config: AgentConfig, prepared: Prepared, repo: Path, commit: str, command: str) -> str:
    """`command`'s pytest summary in a sandbox of `repo` at `commit`, with its exit code."""
    sandbox_config = config.sandbox.model_copy(update={"image": prepared.image})
    with make_sandbox(sandbox_config, repo, commit, "bench-env-real") as sandbox:
        result = sandbox.exec(command, timeout=600)
        clean = "" if sandbox.diff() == "" else " (diff not empty!)"
    plain = re.sub(r"\x1b\[[0-9;]*m", "", result.output)
    found = SUMMARY.findall(plain)
    return f"exit {result.exit_code}: {found[-1].split(' in ')[0] if found else plain.strip()[-120:]}{clean}"


def cold(config: AgentConfig, repo: Path, commit: str) -> Prepared:
    """The environment of `repo` at `commit` built from nothing: its image removed first when present."""
    prepared = Environments(config.sandbox, config.environment).prepare(repo, commit)
    if prepared.built or prepared.key is None:
        return prepared
    client = docker_client()
    try:
        client.images.remove(prepared.image, force=True)
    finally:
        client.close()
    return Environments(config.sandbox, config.environment).prepare(repo, commit)


def measure(project: RealProject, config: AgentConfig, root: Path) -> list[str]:
    repo, older, head = release_repo(project, SDIST_CACHE, root)
    first = cold(config, repo, head)
    started = time.perf_counter()
    cached = Environments(config.sandbox, config.environment).prepare(repo, head)
    assert cached.image == first.image and not cached.built
    cached_ms = (time.perf_counter() - started) * 1000
    old = Environments(config.sandbox, config.environment).prepare(repo, older)
    if old.image == first.image:
        old_how = "the same image as HEAD (same dependency files)"
    else:
        old = cold(config, repo, older)
        old_how = f"its own image, cold build {old.seconds:.1f} s"
    return [
        f"{project.name} {project.old} -> {project.new} ({project.backend})",
        f"  cold build at HEAD: {first.seconds:.1f} s; cached lookup by a new run: {cached_ms:.0f} ms",
        f"  older commit's environment: {old_how}",
        f"  tests at HEAD ({project.new}): {tests_at(config, first, repo, head, project.test_cmd)}",
        f"  tests at the older commit ({project.old}): {tests_at(config, old, repo, older, project.test_cmd)}",
        *[f"  warning: {line}" for line in first.warnings],
    ]


def main(names: list[str]) -> None:
    config = load_config()
    chosen = [project for project in REAL_PROJECTS if not names or project.name in names]
    with tempfile.TemporaryDirectory(prefix="bench-env-real-") as tmp:
        for project in chosen:
            for line in measure(project, config, Path(tmp)):
                print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
