"""Command round trip in one container: persistent shell vs `docker exec` CLI vs SDK exec_run.

Usage: python benchmarks/sandbox_round_trip.py [N]   (default 200 trivial commands each)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agent.core.config import SandboxConfig
from sandboxes.docker_sandbox import DockerSandbox


def timings(action: Callable[[], object], count: int) -> list[float]:
    out = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        out.append(time.perf_counter() - started)
    return out


def summary(name: str, samples: list[float]) -> tuple[str, float]:
    ordered = sorted(samples)
    median = statistics.median(ordered)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"{name:<22} median {median * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms", median


def main(count: int = 200) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        (repo / "README.md").write_text("bench\n")
        subprocess.run(["git", "-C", tmp, "add", "-A"], check=True)
        subprocess.run(
            ["git", "-C", tmp, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "base"], check=True
        )
        with DockerSandbox(SandboxConfig(), repo, "HEAD", "bench-round-trip") as box:
            cid = box.container.id
            for _ in range(5):
                box.exec("echo hi")
            persistent = timings(lambda: box.exec("echo hi"), count)
            cli = timings(
                lambda: subprocess.run(["docker", "exec", cid, "sh", "-c", "echo hi"], capture_output=True), count
            )
            sdk = timings(lambda: box.container.exec_run(["sh", "-c", "echo hi"]), count)
    print(f"{count} x `echo hi` in one container")
    lines = [summary("persistent shell", persistent), summary("docker exec (CLI)", cli), summary("SDK exec_run", sdk)]
    for line, _ in lines:
        print(line)
    ratio = lines[0][1] / lines[1][1]
    print(f"persistent / CLI median ratio: {ratio:.3f}x (target <= 0.15x)")
    print(f"persistent / SDK median ratio: {lines[0][1] / lines[2][1]:.3f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
