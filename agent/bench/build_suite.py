"""Writes the built-in suite's `tasks.jsonl` from the task sources under `tasks/builtin/repos/<name>/tasks/<id>/`.

    python -m agent.bench.build_suite            # rebuild tasks.jsonl
    python -m agent.bench.build_suite --check    # exit 1 if tasks.jsonl is stale

For each task, in a scratch git repository: the base tree is the fixed repository with the
task's `base/` files laid over it (and `absent_at_base` files removed); the gold patch is
`git diff` from there back to the fixed files; the test patch is `git diff` from the base to the
base plus the `test_patch/` files. The tests then run here (host Python + pytest) on base +
test patch and on gold + test patch: FAIL_TO_PASS are the tests that fail before and pass after,
PASS_TO_PASS those that pass both times. Every test must pass with the gold patch. Base commit
SHAs come from `tasks.builtin.materialize`, the same code the loader runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from agent.engine.evaluation import patch_files
from agent.engine.testing import parse_junit
from tasks.builtin import GIT_ENV, REPOS, TASKS_FILE, materialize, source_files
from tasks.models import Task

TEST_CMD = "python -m pytest -q"
JUNIT = ("-o", "junit_family=xunit1")
FIELDS = ("title", "task_type", "difficulty", "problem_statement")


def git(work: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["git", "-C", str(work), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed in {work}: {done.stderr.strip()}")
    return done.stdout


def overlay(source: Path, target: Path) -> list[str]:
    names = []
    for relative in source_files(source) if source.is_dir() else []:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, target / relative)
        names.append(relative.as_posix())
    return names


def run_tests(work: Path) -> dict[str, str]:
    report = work.parent / f"{work.name}-junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *JUNIT],
        cwd=work,
        capture_output=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=300,
        check=False,
    )
    return parse_junit(report.read_text())


def build_task(repo: str, folder: Path, scratch: Path) -> dict[str, object]:
    meta = tomllib.loads((folder / "task.toml").read_text())
    instance_id = f"{repo}__{folder.name}"
    fixed = REPOS / repo / "repo"
    work = scratch / instance_id
    shutil.copytree(fixed, work, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
    changed = overlay(folder / "base", work)
    for name in meta.get("absent_at_base", []):
        (work / name).unlink()
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "base")
    for name in [*changed, *meta.get("absent_at_base", [])]:
        if (fixed / name).exists():
            shutil.copyfile(fixed / name, work / name)
        else:  # a file only the base has (the fix deletes or renames it)
            (work / name).unlink()
    git(work, "add", "-A")
    gold = git(work, "diff", "--cached", "--no-color", "HEAD")
    git(work, "reset", "-q", "--hard", "HEAD")
    git(work, "clean", "-qfdx")
    overlay(folder / "test_patch", work)
    git(work, "add", "-A")
    test_patch = git(work, "diff", "--cached", "--no-color", "HEAD")
    if not gold.strip() or not test_patch.strip():
        raise SystemExit(f"{instance_id}: empty gold patch or test patch")
    before = run_tests(work)
    git(work, "reset", "-q", "--hard", "HEAD")
    git(work, "clean", "-qfdx")
    git(work, "apply", "-", stdin=gold)
    overlay(folder / "test_patch", work)  # the judged test files win over the gold patch, as in evaluation
    after = run_tests(work)
    broken = sorted(test for test, status in after.items() if status != "passed")
    if broken:
        raise SystemExit(f"{instance_id}: tests fail with the gold patch: {broken}")
    # Tests in files only the gold patch writes are the solution's own (a test-writing task's answer).
    own = set(patch_files(gold)) - set(patch_files(test_patch))
    judged = [test for test in after if test.split("::", 1)[0] not in own]
    f2p = sorted(test for test in judged if before.get(test) != "passed")
    p2p = sorted(test for test in judged if before.get(test) == "passed")
    if not f2p:
        raise SystemExit(f"{instance_id}: no test fails before the gold patch")
    for expected in meta.get("fail_to_pass", []):
        if expected not in f2p:
            raise SystemExit(f"{instance_id}: {expected} was expected to fail before the fix; F2P is {f2p}")
    return {
        "instance_id": instance_id,
        "repo": f"builtin/{repo}",
        "base_commit": "",
        **{field: meta[field].strip() if field == "problem_statement" else meta[field] for field in FIELDS},
        "patch": gold,
        "test_patch": test_patch,
        "FAIL_TO_PASS": f2p,
        "PASS_TO_PASS": p2p,
        "test_cmd": TEST_CMD,
    }


def build(only: list[str] | None = None) -> list[dict[str, object]]:
    records = []
    with tempfile.TemporaryDirectory(prefix="suite-") as tmp:
        scratch = Path(tmp)
        for repo_dir in sorted(path for path in REPOS.iterdir() if (path / "tasks").is_dir()):
            for folder in sorted(path for path in (repo_dir / "tasks").iterdir() if path.is_dir()):
                if only and folder.name not in only:
                    continue
                record = build_task(repo_dir.name, folder, scratch)
                records.append(record)
                print(f"built {record['instance_id']}: {record['FAIL_TO_PASS']}", file=sys.stderr)
        by_repo: dict[str, list[Task]] = {}
        for record in records:
            by_repo.setdefault(str(record["repo"]).removeprefix("builtin/"), []).append(Task.model_validate(record))
        for name, tasks in by_repo.items():
            _, commits = materialize(name, tasks, scratch / "home")
            for record in records:
                if record["repo"] == f"builtin/{name}":
                    record["base_commit"] = commits[str(record["instance_id"])]
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if tasks.jsonl differs from a rebuild")
    parser.add_argument("--only", nargs="*", help="build only these task folders (no write)")
    args = parser.parse_args()
    records = build(args.only)
    text = "".join(json.dumps(record, sort_keys=False) + "\n" for record in records)
    if args.only:
        return
    if args.check:
        current = TASKS_FILE.read_text() if TASKS_FILE.exists() else ""
        if current != text:
            raise SystemExit("tasks.jsonl is stale: run python -m agent.bench.build_suite")
        print(f"tasks.jsonl is up to date ({len(records)} tasks)")
        return
    TASKS_FILE.write_text(text)
    print(f"wrote {len(records)} tasks to {TASKS_FILE}")


if __name__ == "__main__":
    main()
