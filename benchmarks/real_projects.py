"""Real projects end to end, as a new user would: environment, mining, and the harness check.

For each real PyPI project of `tests/sdist_helpers.REAL_PROJECTS` (one per build backend), a git
history of its last releases' sdists (one commit per release, tagged). Then, through the `agent`
command as a user runs it, with no `--setup` anywhere:

- `agent env build --repo R`: cold (its image removed first) and cached (a second run);
- `agent tasks mine R --max-tasks 3`: candidates looked at, kept, skipped by reason and cause;
- `agent bench TASKS --model oracle` must resolve every kept task and `--model null` none, with no
  environment or infrastructure errors.

Usage: python benchmarks/real_projects.py [NAME ...] [--releases N]   (default: every project, 8 releases)
Write the result with: python benchmarks/real_projects.py > benchmarks/results/real_projects.txt
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandboxes.engine import docker_client
from tests.sdist_helpers import BY_NAME, REAL_PROJECTS, RealProject, history_repo, last_releases

SDIST_CACHE = Path(tempfile.gettempdir()) / "agent-bench-sdists"


def agent(home: Path, *args: str) -> tuple[int, str, str, float]:
    """`agent ARGS` as a user runs it: exit code, stdout, stderr, seconds."""
    env = {**os.environ, "AGENT_HOME": str(home), "AGENT_CONFIG": os.devnull}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "agent", *args], env=env, capture_output=True, text=True, timeout=3600)
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - started


def remove_environment_images(name: str) -> int:
    """Remove every environment image of a project by this name, whichever repository path built it
    (images are keyed by content and shared across copies of a repository); how many."""
    client = docker_client()
    try:
        images = [
            image for image in client.images.list() if any(tag.startswith(f"agent-env-{name}:") for tag in image.tags)
        ]
        for image in images:
            client.images.remove(image.id, force=True)
        return len(images)
    finally:
        client.close()


def measure(project: RealProject, releases: int, root: Path) -> list[str]:
    home = root / "agent-home"
    versions = last_releases(project.name, releases, up_to=project.new)
    repo = history_repo(project, versions, SDIST_CACHE, root)
    remove_environment_images(project.name)
    code, _out, err, cold_s = agent(home, "env", "build", "--repo", str(repo))
    if code != 0:
        return [f"{project.name} ({project.backend}): env build failed (exit {code}): {err.strip()[-300:]}"]
    _code, _out, _err, cached_s = agent(home, "env", "build", "--repo", str(repo))
    tasks = root / f"{project.name}.jsonl"
    code, out, err, mine_s = agent(home, "tasks", "mine", str(repo), "--max-tasks", "3", "--out", str(tasks), "--json")
    if code != 0:
        return [f"{project.name}: mining failed (exit {code}): {err.strip()[-300:]}"]
    summary = json.loads(out)
    lines = [
        f"{project.name} {versions[0]} .. {versions[-1]} ({len(versions)} releases), backend {project.backend}",
        f"  env build at HEAD: cold {cold_s:.1f} s, cached {cached_s:.1f} s (whole command)",
        f"  mine --max-tasks 3: {summary['candidates']} candidate(s) of {summary['commits']} commit(s), "
        f"kept {summary['kept']}, in {mine_s:.0f} s",
        f"  skipped by reason: {json.dumps(summary['skipped'])}; by cause: {json.dumps(summary['causes'])}",
    ]
    if not summary["kept"]:
        return lines
    for model, want in (("oracle", summary["kept"]), ("null", 0)):
        code, out, err, bench_s = agent(home, "bench", str(tasks), "--model", model, "--json")
        if code != 0:
            lines.append(f"  bench {model}: exit {code}: {err.strip()[-300:]}")
            continue
        result = json.loads(out)
        resolved, errors = len(result["resolved_ids"]), len(result["error_ids"])
        mark = "ok" if (resolved, errors) == (want, 0) else "UNEXPECTED"
        lines.append(
            f"  bench {model}: resolved {resolved}/{summary['kept']}, errors {errors} ({bench_s:.0f} s) {mark}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="projects (default: all)")
    parser.add_argument("--releases", type=int, default=8, help="releases in each history")
    options = parser.parse_args()
    projects = [BY_NAME[name] for name in options.names] if options.names else list(REAL_PROJECTS)
    print(f"# real projects end to end: last {options.releases} releases each, no --setup")
    for project in projects:
        with tempfile.TemporaryDirectory(prefix="agent-real-") as scratch:
            for line in measure(project, options.releases, Path(scratch)):
                print(line, flush=True)


if __name__ == "__main__":
    main()
