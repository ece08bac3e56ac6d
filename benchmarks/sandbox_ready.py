"""Sandbox ready time for a generated 5,000-file repository: create + copy + git init inside,
until the first command has run. Prints each run and the median.

Usage: python benchmarks/sandbox_ready.py [RUNS] [FILES]   (default 5 runs, 5000 files)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent.core.config import SandboxConfig
from sandboxes.docker_sandbox import DockerSandbox


def make_repo(root: Path, files: int) -> str:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for index in range(files):
        path = root / f"pkg{index % 50:02d}" / f"module_{index:05d}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f'"""Module {index}."""\n\n\ndef f_{index}(x):\n    return x + {index}\n' * 4)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "base"], check=True
    )
    return subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def measure(config: SandboxConfig, tmp: str, sha: str, runs: int, files: int, label: str) -> None:
    print(f"-- {label}")
    if True:
        with DockerSandbox(config, Path(tmp), sha, "bench-warmup") as box:
            box.exec("true")
        samples = []
        for run in range(runs):
            started = time.perf_counter()
            box = DockerSandbox(config, Path(tmp), sha, f"bench-ready-{run}")
            try:
                result = box.exec("git rev-parse --is-inside-work-tree && ls | wc -l")
                elapsed = time.perf_counter() - started
                assert result.output == "true\n50\n", result.output
            finally:
                box.close()
            samples.append(elapsed)
            print(f"run {run + 1}: {elapsed:.3f} s")
    print(f"{label}: {files} files, median ready time over {runs} runs: {statistics.median(samples):.3f} s")


def main(runs: int = 5, files: int = 5000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sha = make_repo(Path(tmp), files)
        measure(SandboxConfig(), tmp, sha, runs, files, "workdir on tmpfs (default)")
        measure(SandboxConfig(workdir_tmpfs=False), tmp, sha, runs, files, "workdir on the container's disk")
    print("target < 0.6 s")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
