"""Editor op round trip: `view` and `str_replace` (and `create`, `insert`) on a 500-line file.

Each op is one `str_replace_based_edit_tool` call through `ToolRunner.run`, timed on the host
from the call to its result (every sandbox round trip included). `str_replace` flips one line
back and forth so the file keeps its size; `insert` adds a line to a scratch copy.
Usage: python benchmarks/editor_ops.py [N] [--sandbox docker|local|both]   (default 200, docker)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from agent.core.config import SandboxConfig
from agent.core.messages import ToolCall
from agent.engine.tools import ToolRunner
from sandboxes import make_sandbox

LINES = 500


def file_text() -> str:
    """500 lines of Python (about 20 KB)."""
    lines = ['"""A module of helpers for scaling values."""', ""]
    number = 0
    while len(lines) < LINES:
        lines += [
            f"def scale_{number}(values, factor={number}):",
            f'    """Scale the positive values of `values` by {number}, keeping the others as they are."""',
            "    result = []",
            "    for value in values:",
            "        if value > 0:",
            f"            result.append(value * factor + {number})  # shifted by the index",
            "    return result",
            "",
        ]
        number += 1
    lines = [*lines[: LINES - 1], "FLIP = 'a'"]
    return "\n".join(lines) + "\n"


def make_repo(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "big.py").write_text(file_text())
    env = ["-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run(["git", "-C", str(root), "init", "-q"], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), *env, "commit", "-qm", "base"], check=True)
    return root


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    median = statistics.median(ordered)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"{name:<22} median {median * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"


def measure(kind: str, count: int) -> list[str]:
    """`count` rounds of every op, interleaved so that a busy spell on the host hits them all alike."""
    text = file_text()
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp) / "repo")
        warnings.simplefilter("ignore")  # the local sandbox's "NOT isolated" warning
        with make_sandbox(SandboxConfig(kind=kind), repo, "HEAD", f"bench-editor-{kind}") as box:
            tools = ToolRunner(box, command_timeout=60)
            flips = [0]

            def edit(**arguments: object) -> None:
                outcome = tools.run(ToolCall(id="b", name="str_replace_based_edit_tool", input=arguments))
                assert not outcome.result.is_error, outcome.result.output

            def flip(_: int) -> None:
                old, new = ("'a'", "'b'") if flips[0] % 2 == 0 else ("'b'", "'a'")
                flips[0] += 1
                edit(command="str_replace", path="pkg/big.py", old_str=f"FLIP = {old}", new_str=f"FLIP = {new}")

            ops: dict[str, Callable[[int], object]] = {
                "view": lambda _: edit(command="view", path="pkg/big.py"),
                "str_replace": flip,
                "create": lambda _: edit(command="create", path="pkg/copy.py", file_text=text),
                "insert": lambda i: edit(command="insert", path="pkg/copy.py", insert_line=i % LINES, new_str="# x"),
                "bash `echo hi` (ref.)": lambda _: box.exec("echo hi"),
            }
            samples: dict[str, list[float]] = {name: [] for name in ops}
            for index in range(5 + count):
                for name, op in ops.items():
                    started = time.perf_counter()
                    op(index)
                    if index >= 5:
                        samples[name].append(time.perf_counter() - started)
            expected = text if flips[0] % 2 == 0 else text.replace("FLIP = 'a'", "FLIP = 'b'")
            assert box.read_file("pkg/big.py") == expected
    size = len(text.encode())
    return [
        f"{kind} sandbox: {count} rounds of each op on a {LINES}-line file ({size} bytes)",
        *(summary(name, values) for name, values in samples.items()),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=200)
    parser.add_argument("--sandbox", choices=("docker", "local", "both"), default="docker")
    args = parser.parse_args()
    kinds = ("docker", "local") if args.sandbox == "both" else (args.sandbox,)
    for kind in kinds:
        for line in measure(kind, args.count):
            print(line)
    print("target: view and str_replace median <= 5 ms in the docker sandbox")


if __name__ == "__main__":
    main()
