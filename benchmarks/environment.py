"""Environment images, cold vs cached, on a repository that depends on a real PyPI project.

The repository depends on `python-slugify` (which pulls `text-unidecode`) and has a `test` extra.
Cold: the image is removed first, so the time covers detection, the host's resolution into a
wheelhouse (pip's own download cache may be warm) and the offline build. Cached: a new
`Environments` (as a new run makes) finds the image by its key. Sandbox ready: a sandbox started
from the environment image vs from the plain sandbox image; the difference is what a cached
environment adds to each sandbox.

Usage: python benchmarks/environment.py [RUNS]   (default 5 runs of the cached and sandbox timings)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent.core.config import AgentConfig, load_config
from sandboxes import make_sandbox
from sandboxes.engine import docker_client
from sandboxes.environment import Environments

PYPROJECT = """\
[project]
name = "titler"
version = "0.1.0"
dependencies = ["python-slugify>=8"]

[project.optional-dependencies]
test = ["pytest"]

[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"
"""


def make_repo(root: Path) -> Path:
    repo = root / "titler"
    (repo / "src" / "titler").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "pyproject.toml").write_text(PYPROJECT)
    (repo / "src" / "titler" / "__init__.py").write_text("from slugify import slugify\n")
    (repo / "tests" / "test_titler.py").write_text(
        "from titler import slugify\n\ndef test_slug():\n    assert slugify('Héllo Wörld') == 'hello-world'\n"
    )
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "i"]):
        subprocess.run(["git", "-C", str(repo), *command], check=True)
    return repo


def sandbox_ready(config: AgentConfig, image: str, repo: Path, check: bool) -> float:
    """Seconds until a sandbox from `image` is ready; with `check`, its tests must pass there."""
    started = time.perf_counter()
    with make_sandbox(config.sandbox.model_copy(update={"image": image}), repo, "HEAD", "bench-env") as sandbox:
        elapsed = time.perf_counter() - started
        result = sandbox.exec("python -m pytest -q", timeout=120)
        if check and result.exit_code != 0:
            raise SystemExit(f"the tests fail in {image}: {result.output[-400:]}")
    return elapsed


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    config = load_config(env={"AGENT_CONFIG": "/dev/null"})
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp))
        first = Environments(config.sandbox, config.environment).prepare(repo, "HEAD")
        client = docker_client()
        client.images.remove(first.image, force=True)
        client.close()
        started = time.perf_counter()
        cold = Environments(config.sandbox, config.environment).prepare(repo, "HEAD")
        cold_s = time.perf_counter() - started
        cached = []
        for _ in range(runs):
            started = time.perf_counter()
            again = Environments(config.sandbox, config.environment).prepare(repo, "HEAD")
            cached.append(time.perf_counter() - started)
            assert not again.built and again.image == cold.image
        plain = [sandbox_ready(config, config.sandbox.image, repo, check=False) for _ in range(runs)]
        with_env = [sandbox_ready(config, cold.image, repo, check=True) for _ in range(runs)]
    lines = [
        f"environment for a repository depending on python-slugify ({', '.join(cold.sources)})",
        f"cold build (detect + host wheelhouse + offline build): {cold_s:.2f} s",
        f"cached lookup by a new run, median of {runs}: {statistics.median(cached) * 1000:.0f} ms",
        f"sandbox ready from the plain image, median: {statistics.median(plain) * 1000:.0f} ms"
        " (its tests cannot import slugify there)",
        f"sandbox ready from the environment image, median: {statistics.median(with_env) * 1000:.0f} ms",
        "cached path added to sandbox ready: "
        f"{(statistics.median(cached) + statistics.median(with_env) - statistics.median(plain)) * 1000:.0f} ms",
    ]
    print("\n".join(lines))
    out = Path(__file__).parent / "results" / "environment.txt"
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
