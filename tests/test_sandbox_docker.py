"""DockerSandbox against a real engine: isolation, timeouts, capping, persistence, diff."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from sandbox_helpers import CANARY, ensure_image, make_repo, requires_docker

from agent.core.config import SandboxConfig
from agent.core.errors import SandboxError
from sandboxes import make_sandbox
from sandboxes.docker_sandbox import DockerSandbox
from sandboxes.output import cut_marker

pytestmark = requires_docker

CONFIG = SandboxConfig()


@pytest.fixture(scope="module", autouse=True)
def _image() -> None:
    ensure_image(CONFIG.image)


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DockerSandbox]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    repo, sha = make_repo(tmp_path)
    with DockerSandbox(CONFIG, repo, sha, "test-docker") as box:
        yield box


def seq_bytes(count: int) -> bytes:
    return "".join(f"{i:09d}\n" for i in range(count)).encode()


def test_network_is_unreachable_inside(sandbox: DockerSandbox) -> None:
    probe = "python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), 2)\""
    assert sandbox.exec(probe).exit_code != 0
    assert sandbox.exec("getent hosts example.com").exit_code != 0


def test_commands_run_as_the_non_root_user(sandbox: DockerSandbox) -> None:
    assert sandbox.exec("id -u; id -un").output == "1000\nagent\n"


def test_writing_outside_the_repository_is_denied(sandbox: DockerSandbox) -> None:
    result = sandbox.exec("touch /usr/x")
    assert result.exit_code == 1
    assert "Permission denied" in result.output
    with pytest.raises(PermissionError):
        sandbox.write_file("/usr/y", "no")


def test_host_api_key_never_enters_the_container(sandbox: DockerSandbox) -> None:
    assert sandbox.exec("env").output.count(CANARY) == 0
    assert CANARY not in sandbox.exec("cat /proc/1/environ /proc/self/environ | tr '\\0' '\\n'").output
    attrs = docker.from_env().api.inspect_container(sandbox.container.id)
    config = attrs["Config"]
    assert not any(CANARY in entry for entry in config["Env"] or [])
    assert not any("ANTHROPIC" in entry for entry in config["Env"] or [])
    assert CANARY not in str(config["Labels"]) + str(config["Cmd"]) + str(attrs["Args"])
    sandbox.write_file("added.py", "print('hi')\n")
    assert CANARY not in sandbox.diff()


def test_container_gets_every_isolation_setting(sandbox: DockerSandbox) -> None:
    attrs = docker.from_env().api.inspect_container(sandbox.container.id)
    host = attrs["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["Memory"] == 2 * 1024**3
    assert host["MemorySwap"] == 2 * 1024**3
    assert host["NanoCpus"] == 1_000_000_000
    assert host["PidsLimit"] == 512
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Init"] is True
    assert attrs["Config"]["User"] == "agent"
    assert attrs["Config"]["WorkingDir"] == "/testbed"
    labels = attrs["Config"]["Labels"]
    assert labels["agent.run"] == "test-docker"
    assert labels["agent.owner"].endswith(f":{__import__('os').getpid()}")
    assert sandbox.workdir == "/testbed"


def test_timeout_kills_the_command_and_leaves_no_process(sandbox: DockerSandbox) -> None:
    started = time.monotonic()
    result = sandbox.exec("sleep 300 & sleep 301; echo never", timeout=1)
    assert time.monotonic() - started < 3
    assert (result.timed_out, result.exit_code) == (True, 124)
    assert "never" not in result.output
    left = sandbox.exec("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '").output
    assert "sleep 30" not in left
    assert sandbox.exec("echo alive").output == "alive\n"


def test_five_megabytes_of_output_are_capped_exactly_and_fast(sandbox: DockerSandbox) -> None:
    started = time.monotonic()
    result = sandbox.exec("seq -f '%09g' 0 499999")
    elapsed = time.monotonic() - started
    data = seq_bytes(500_000)
    assert len(data) == 5_000_000
    expected = data[:10_000].decode() + cut_marker(5_000_000 - 20_000) + data[-10_000:].decode()
    assert result.output == expected
    assert "[... 4980000 bytes of output cut ...]" in result.output
    assert result.truncated is True
    assert elapsed < 3


def test_output_under_the_cap_is_whole(sandbox: DockerSandbox) -> None:
    result = sandbox.exec("seq -f '%09g' 0 1998; echo err >&2")
    assert result.output == seq_bytes(1999).decode() + "err\n"
    assert result.truncated is False


def test_cd_and_export_persist_between_commands(sandbox: DockerSandbox) -> None:
    assert sandbox.exec("cd pkg && export GREETING='hi there'").exit_code == 0
    assert sandbox.exec('pwd; echo "$GREETING"').output == "/testbed/pkg\nhi there\n"
    sandbox.exec("unset GREETING; cd ..")
    assert sandbox.exec('pwd; echo "[${GREETING-}]"').output == "/testbed\n[]\n"


def test_exit_in_a_command_returns_its_code_and_keeps_the_shell(sandbox: DockerSandbox) -> None:
    pid = sandbox.shell.pid
    assert sandbox.exec("cd pkg; exit 7").exit_code == 7
    assert sandbox.exec("pwd").output == "/testbed/pkg\n"
    assert sandbox.shell.pid == pid


def test_shell_restarts_after_it_is_killed(sandbox: DockerSandbox) -> None:
    sandbox.exec("cd pkg && export KEEP=1")
    first = sandbox.shell.pid
    died = sandbox.exec(f"kill -9 {first}")
    assert died.exit_code == -1
    assert "the shell died" in died.output
    again = sandbox.exec('pwd; echo "$KEEP"')
    assert again.output == "/testbed/pkg\n1\n"
    assert sandbox.shell.pid != first
    assert sandbox.shell.starts == 2


def test_diff_has_new_modified_and_deleted_files(sandbox: DockerSandbox) -> None:
    sandbox.write_file("pkg/mod.py", "x = 2\n")
    sandbox.write_file("src/new.py", "y = 1\n")
    sandbox.exec("rm old.txt")
    diff = sandbox.diff()
    headers = [line for line in diff.splitlines() if line.startswith(("diff --git", "---", "+++", "new", "deleted"))]
    assert headers == [
        "diff --git a/old.txt b/old.txt",
        "deleted file mode 100644",
        "--- a/old.txt",
        "+++ /dev/null",
        "diff --git a/pkg/mod.py b/pkg/mod.py",
        "--- a/pkg/mod.py",
        "+++ b/pkg/mod.py",
        "diff --git a/src/new.py b/src/new.py",
        "new file mode 100644",
        "--- /dev/null",
        "+++ b/src/new.py",
    ]
    assert "-x = 1\n+x = 2\n" in diff
    assert sandbox.exec("git status --short").output == " D old.txt\n M pkg/mod.py\n?? src/\n"


def test_diff_applies_to_the_base_commit(sandbox: DockerSandbox, tmp_path: Path) -> None:
    sandbox.exec("echo more >> README.md && printf 'new\\n' > fresh.txt")
    patch = tmp_path / "work.patch"
    patch.write_text(sandbox.diff())
    subprocess.run(["git", "-C", str(tmp_path / "repo"), "apply", str(patch)], check=True)
    assert (tmp_path / "repo" / "fresh.txt").read_text() == "new\n"
    assert (tmp_path / "repo" / "README.md").read_text() == "hello\nmore\n"


def test_files_are_written_as_the_sandbox_user_relative_to_workdir(sandbox: DockerSandbox) -> None:
    sandbox.write_file("deep/dir/f.txt", "héllo\n")
    assert sandbox.read_file("/testbed/deep/dir/f.txt") == "héllo\n"
    assert sandbox.exec("stat -c %U deep/dir/f.txt README.md").output == "agent\nagent\n"
    with pytest.raises(FileNotFoundError):
        sandbox.read_file("missing.txt")


def test_commands_larger_than_an_argument_still_run(sandbox: DockerSandbox) -> None:
    payload = "x" * 200_000
    assert sandbox.exec(f"echo {payload} | wc -c").output == "200001\n"


def test_close_removes_the_container_and_is_idempotent(tmp_path: Path) -> None:
    repo, sha = make_repo(tmp_path)
    box = make_sandbox(CONFIG, repo, sha, "test-close")
    assert isinstance(box, DockerSandbox)
    container_id = box.container.id
    box.close()
    box.close()
    with pytest.raises(docker.errors.NotFound):
        docker.from_env().containers.get(container_id)


def test_missing_image_is_a_clear_error(tmp_path: Path) -> None:
    repo, sha = make_repo(tmp_path)
    config = CONFIG.model_copy(update={"image": "agent-no-such-image:0"})
    with pytest.raises(SandboxError, match=r"image agent-no-such-image:0 not found: run `agent sandbox build`"):
        DockerSandbox(config, repo, sha, "test-missing")


def test_unknown_base_commit_is_a_clear_error(tmp_path: Path) -> None:
    repo, _ = make_repo(tmp_path)
    with pytest.raises(SandboxError, match="base commit 'deadbeef' not found"):
        DockerSandbox(CONFIG, repo, "deadbeef", "test-bad-commit")


class _ShellThatWillNotStart(DockerSandbox):
    """A busy engine's failure, made real: the persistent shell's exec ends before it says it is ready."""

    def _open_shell(self):  # type: ignore[no-untyped-def]
        return self._open_exec(["bash", "-c", "exit 0"])[1]


def test_a_shell_that_will_not_start_leaves_a_working_sandbox(tmp_path: Path) -> None:
    repo, sha = make_repo(tmp_path)
    with _ShellThatWillNotStart(CONFIG, repo, sha, "test-docker") as box:
        assert not box.shell.alive
        box.write_file("made.txt", "by the fallback\n")
        result = box.exec("cat made.txt; id -un")
        assert (result.exit_code, result.output) == (0, "by the fallback\nagent\n")
        assert box.read_file("made.txt") == "by the fallback\n"
        assert "made.txt" in box.diff()
