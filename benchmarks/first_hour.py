"""A new user's first commands, timed as subprocesses: `agent --version`, `--help`, `models`,
`plan`, and `agent demo` (image present). With --cold it first removes the sandbox image and the
offline base, so the demo times the whole first run on a machine without them (needs root and
debootstrap where no registry is reachable; rebuilds both images).

Usage: python benchmarks/first_hour.py [RUNS] [--cold]   (default 5 runs of each quick command)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

QUICK = [
    ["--version"],
    ["--help"],
    ["models"],
    ["plan", "--text", "The total is wrong when the cart is empty"],
]


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "agent", *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"agent {' '.join(args)} exited {done.returncode}: {done.stderr[-500:]}")
    return elapsed


def main() -> None:
    positional = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    runs = int(positional[0]) if positional else 5
    cold = "--cold" in sys.argv
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "AGENT_HOME": home, "AGENT_CONFIG": os.devnull, "COLUMNS": "100"}
        for args in QUICK:
            times = [timed(args, env) for _ in range(runs)]
            label = " ".join(args[:2])
            print(f"agent {label:<20} median {statistics.median(times):6.2f} s  (min {min(times):.2f}, {runs} runs)")
        if cold:
            images = ["agent-sandbox:latest", "agent-offline-base:bookworm"]
            subprocess.run(["docker", "rmi", "-f", *images], capture_output=True, check=False)
        demo = timed(["demo", "--no-tui"], env)
        print(f"agent demo ({'no image: builds it first' if cold else 'image present'})  {demo:6.1f} s")


if __name__ == "__main__":
    main()
