"""LocalSandbox: a temporary copy run with local processes; same timeout, capping and diff."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_helpers import CANARY, make_repo

from agent.core.config import SandboxConfig
from sandboxes import NotIsolatedWarning, make_sandbox
from sandboxes.local_sandbox import LocalSandbox
from sandboxes.output import cut_marker

CONFIG = SandboxConfig(kind="local")


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalSandbox]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    repo, sha = make_repo(tmp_path)
    with LocalSandbox(CONFIG, repo, sha, "test-local") as box:
        yield box


def test_make_sandbox_warns_loudly_that_local_is_not_isolated(tmp_path: Path) -> None:
    repo, sha = make_repo(tmp_path)
    with pytest.warns(NotIsolatedWarning, match="LocalSandbox is NOT isolated: commands run on this machine as you"):
        box = make_sandbox(CONFIG, repo, sha, "test-warn")
    with box:
        assert isinstance(box, LocalSandbox)


def test_environment_is_minimal_and_has_no_api_key(sandbox: LocalSandbox) -> None:
    env = sandbox.exec("env").output
    assert CANARY not in env
    names = sorted(line.split("=", 1)[0] for line in env.splitlines())
    assert names == ["HOME", "LANG", "OLDPWD", "PATH", "PWD", "SHLVL", "_"]
    assert sandbox.exec("echo $HOME").output == f"{Path(sandbox.workdir).parent / 'home'}\n"
    sandbox.write_file("x.txt", "x\n")
    assert CANARY not in sandbox.diff()


def test_timeout_kills_the_command_and_its_children(sandbox: LocalSandbox) -> None:
    started = time.monotonic()
    # durations no other process on the host uses: the local sandbox sees every process
    result = sandbox.exec("sleep 3001.7 & sleep 3002.9; echo never", timeout=1)
    assert time.monotonic() - started < 3
    assert (result.timed_out, result.exit_code, result.output) == (True, 124, "")
    left = sandbox.exec("ps -eo args").output
    assert "sleep 3001.7" not in left
    assert "sleep 3002.9" not in left


def test_output_is_capped_to_head_and_tail(tmp_path: Path) -> None:
    repo, sha = make_repo(tmp_path)
    config = CONFIG.model_copy(update={"output_head_bytes": 100, "output_tail_bytes": 50})
    with LocalSandbox(config, repo, sha, "test-cap") as box:
        result = box.exec("seq -f '%09g' 0 99999")
    data = "".join(f"{i:09d}\n" for i in range(100_000))
    assert result.output == data[:100] + cut_marker(1_000_000 - 150) + data[-50:]
    assert result.truncated is True


def test_cd_and_export_persist(sandbox: LocalSandbox) -> None:
    sandbox.exec("cd pkg; export A=b")
    assert sandbox.exec('echo "$PWD $A"').output == f"{sandbox.workdir}/pkg b\n"


def test_diff_has_new_modified_and_deleted_files(sandbox: LocalSandbox) -> None:
    sandbox.write_file("pkg/mod.py", "x = 2\n")
    sandbox.write_file("new.txt", "n\n")
    sandbox.exec("rm old.txt")
    assert sandbox.diff() == (
        "diff --git a/new.txt b/new.txt\n"
        "new file mode 100644\n"
        "index 0000000..8ba3a16\n"
        "--- /dev/null\n"
        "+++ b/new.txt\n"
        "@@ -0,0 +1 @@\n"
        "+n\n"
        "diff --git a/old.txt b/old.txt\n"
        "deleted file mode 100644\n"
        "index 3367afd..0000000\n"
        "--- a/old.txt\n"
        "+++ /dev/null\n"
        "@@ -1 +0,0 @@\n"
        "-old\n"
        "diff --git a/pkg/mod.py b/pkg/mod.py\n"
        "index 7d4290a..407de30 100644\n"
        "--- a/pkg/mod.py\n"
        "+++ b/pkg/mod.py\n"
        "@@ -1 +1 @@\n"
        "-x = 1\n"
        "+x = 2\n"
    )


def test_close_removes_the_copy(tmp_path: Path) -> None:
    repo, sha = make_repo(tmp_path)
    box = LocalSandbox(CONFIG, repo, sha, "test-close")
    root = Path(box.workdir).parent
    assert (root / "testbed" / "README.md").read_text() == "hello\n"
    box.close()
    box.close()
    assert not root.exists()
