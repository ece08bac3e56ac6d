"""The editor's file I/O at shell speed: exact bytes, the size limit, failures that leave no trace.

Each test runs against a real Docker sandbox (reads and writes through its persistent shell), a
LocalSandbox (direct file I/O), and a LocalSandbox seen only through the `Sandbox` protocol (the
editor's fallback for sandboxes without `read_bytes`/`write_bytes`). The shell's own read and
write also run against a local bash, so they are tested without Docker too.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shlex
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest
from sandbox_helpers import ensure_image, requires_docker

from agent.core.config import SandboxConfig
from agent.core.messages import ToolCall
from agent.core.protocols import ByteFiles, ExecResult, Sandbox
from agent.engine.tools import MAX_EDIT_BYTES, ToolOutcome, ToolRunner
from sandboxes.docker_sandbox import DockerSandbox
from sandboxes.local_sandbox import LocalSandbox
from sandboxes.shell import PipeTransport, ShellSession
from sandboxes.shell_files import read_result, read_script, write_script
from tests.repo_helpers import git, make_repo

TRICKY = (
    "quotes ' \" and a backslash \\ and \\n literally\n"
    "dollars $HOME ${X:-y} $(echo no) and `backticks`\n"
    "EOF\n"
    "__AGENT_END_0123456789abcdef_1__ 0 0\n"
    "unicode: h\u00e9llo \u2603 \U0001f600 \u00a0nbsp\n"
    "\ttab\r\n"
    "printf '%s\\n' done; exit 3\n"
    "no newline at the end"
)
HOSTILE = "touch /tmp/editor-payload-ran-{tag}\necho PAYLOAD-RAN\nexit 7\n"


class ProtocolOnly:
    """A real sandbox seen only through the `Sandbox` protocol (no `read_bytes`/`write_bytes`)."""

    def __init__(self, inner: Sandbox) -> None:
        self.inner = inner
        self.workdir = inner.workdir

    def exec(self, command: str, timeout: float | None = None) -> ExecResult:
        return self.inner.exec(command, timeout)

    def read_file(self, path: str) -> str:
        return self.inner.read_file(path)

    def write_file(self, path: str, content: str) -> None:
        self.inner.write_file(path, content)

    def diff(self) -> str:
        return self.inner.diff()

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> ProtocolOnly:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@pytest.fixture(
    scope="module",
    params=[pytest.param("docker", marks=requires_docker), "local", "protocol-only"],
)
def tools(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolRunner]:
    repo = make_repo(tmp_path_factory.mktemp("repo") / "repo", {"pkg/mod.py": "one\ntwo\n", "README.md": "# r\n"})
    base = git(repo, "rev-parse", "HEAD").strip()
    box: Sandbox
    if request.param == "docker":
        config = SandboxConfig()
        ensure_image(config.image)
        box = DockerSandbox(config, repo, base, "test-editor")
    else:
        local = LocalSandbox(SandboxConfig(kind="local"), repo, base, "test-editor")
        box = local if request.param == "local" else ProtocolOnly(local)
    with box:
        yield ToolRunner(box, command_timeout=30)


def edit(tools: ToolRunner, **arguments: object) -> ToolOutcome:
    return tools.run(ToolCall(id="c", name="str_replace_based_edit_tool", input=arguments))


def sha256(tools: ToolRunner, name: str) -> str:
    """The file's digest, taken by a command in the sandbox (not through the editor's I/O)."""
    result = tools.sandbox.exec(f"sha256sum {shlex.quote(name)}")
    assert result.exit_code == 0, result.output
    return result.output.split()[0]


def digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def test_the_fast_path_is_taken_where_offered(tools: ToolRunner) -> None:
    assert isinstance(tools.sandbox, ByteFiles) == (not isinstance(tools.sandbox, ProtocolOnly))


@pytest.mark.parametrize("ending", ["", "\n", "\r\n", "\n\n"])
def test_create_writes_exact_bytes_and_view_shows_them(tools: ToolRunner, ending: str) -> None:
    name = f"tricky{len(ending)}{ending.count(chr(13))}.txt"
    text = TRICKY + ending
    assert edit(tools, command="create", path=name, file_text=text).result.output == (
        f"File created: {tools.sandbox.workdir}/{name}"
    )
    assert sha256(tools, name) == digest(text)
    view = edit(tools, command="view", path=name).result
    assert not view.is_error
    assert view.output == "\n".join(f"{number:6}\t{line}" for number, line in enumerate(text.split("\n"), 1))


def test_str_replace_and_insert_keep_every_other_byte(tools: ToolRunner) -> None:
    text = "a = '$x'\r\nb = `y`\r\nEOF\r\nlast line without newline \u2603"
    edit(tools, command="create", path="crlf.py", file_text=text)
    replaced = edit(tools, command="str_replace", path="crlf.py", old_str="b = `y`", new_str='b = "\\\\$(z)"')
    assert not replaced.result.is_error
    inserted = edit(tools, command="insert", path="crlf.py", insert_line=1, new_str="# '\"' \\\r")
    assert inserted.result.output == f"Inserted 1 line(s) after line 1 of {tools.sandbox.workdir}/crlf.py"
    expected = "a = '$x'\r\n# '\"' \\\r\nb = \"\\\\$(z)\"\r\nEOF\r\nlast line without newline \u2603"
    assert sha256(tools, "crlf.py") == digest(expected)


def test_a_file_that_is_not_utf8_is_refused_and_left_alone(tools: ToolRunner) -> None:
    tools.sandbox.exec("printf 'ok\\n\\377\\376 two\\n' > latin.bin")
    before = sha256(tools, "latin.bin")
    path = f"{tools.sandbox.workdir}/latin.bin"
    message = (
        f"Error: cannot read {path}: 'utf-8' codec can't decode byte 0xff in position 3: invalid start byte; "
        "it is not UTF-8 text: use bash for it"
    )
    for arguments in (
        {"command": "view"},
        {"command": "str_replace", "old_str": "two", "new_str": "2"},
        {"command": "insert", "insert_line": 0, "new_str": "x"},
    ):
        outcome = edit(tools, path="latin.bin", **arguments)
        assert (outcome.result.output, outcome.result.is_error, outcome.malformed) == (message, True, False)
    assert sha256(tools, "latin.bin") == before


def test_a_file_over_the_limit_is_refused_with_what_to_do(tools: ToolRunner) -> None:
    tools.sandbox.exec(f"head -c {MAX_EDIT_BYTES + 1} /dev/zero | tr '\\0' 'a' > huge.txt")
    path = f"{tools.sandbox.workdir}/huge.txt"
    outcome = edit(tools, command="view", path="huge.txt")
    assert outcome.result.output == (
        f"Error: cannot read {path}: file is over the limit of {MAX_EDIT_BYTES} bytes; "
        "use bash for a file this large (for example grep -n, sed -n '100,200p', sed -i)"
    )
    assert outcome.result.is_error
    tools.sandbox.exec("truncate -s -1 huge.txt")
    assert (
        edit(tools, command="view", path="huge.txt", view_range=[1, 1]).result.output
        == "     1\t" + "a" * MAX_EDIT_BYTES
    )


def test_new_content_over_the_limit_is_not_written(tools: ToolRunner) -> None:
    outcome = edit(tools, command="create", path="toolarge.txt", file_text="b" * (MAX_EDIT_BYTES + 1))
    assert outcome.result.output == (
        f"Error: cannot write {tools.sandbox.workdir}/toolarge.txt: the new content is {MAX_EDIT_BYTES + 1} bytes, "
        f"over the editor's limit of {MAX_EDIT_BYTES} bytes; "
        "use bash for a file this large (for example grep -n, sed -n '100,200p', sed -i)"
    )
    assert tools.sandbox.exec("test -e toolarge.txt").exit_code == 1


def test_text_that_is_not_valid_unicode_is_refused(tools: ToolRunner) -> None:
    outcome = edit(tools, command="create", path="surrogate.txt", file_text="half a pair: \ud800\n")
    assert outcome.result.output == (
        f"Error: cannot write {tools.sandbox.workdir}/surrogate.txt: "
        "the text is not valid Unicode (surrogates not allowed); send it again"
    )
    assert tools.sandbox.exec("test -e surrogate.txt").exit_code == 1


def test_large_content_is_written_and_edited_intact(tools: ToolRunner) -> None:
    noise = "$`\\\"'"
    lines = [f"line {number:06d} " + noise * (number % 7) for number in range(12_000)]
    text = "\n".join(lines) + "\n"
    assert len(text.encode()) > 300_000
    assert not edit(tools, command="create", path="big/data.txt", file_text=text).result.is_error
    assert sha256(tools, "big/data.txt") == digest(text)
    edit(tools, command="str_replace", path="big/data.txt", old_str="line 011999", new_str="LAST")
    assert sha256(tools, "big/data.txt") == digest(text.replace("line 011999", "LAST"))
    view = edit(tools, command="view", path="big/data.txt", view_range=[11_999, 12_000]).result.output
    assert view == f" 11999\t{lines[11_998]}\n 12000\tLAST{lines[11_999][len('line 011999') :]}"


@pytest.mark.parametrize("name", ["dir with space/file name.txt", 'it\'s/a "quoted" $name.txt', "new\nline.txt"])
def test_paths_with_spaces_quotes_and_newlines(tools: ToolRunner, name: str) -> None:
    assert not edit(tools, command="create", path=name, file_text="x = 1\n").result.is_error
    assert edit(tools, command="str_replace", path=name, old_str="1", new_str="2").result.output == (
        f"Edited {tools.sandbox.workdir}/{name}\n     1\tx = 2\n     2\t"
    )
    assert edit(tools, command="view", path=name).result.output == "     1\tx = 2\n     2\t"


def test_a_failed_write_never_runs_the_content(tools: ToolRunner) -> None:
    tag = os.urandom(4).hex()
    tools.sandbox.exec("mkdir -p adir/sub")
    for name in ("adir", "README.md/child.txt"):
        outcome = edit(tools, command="create", path=name, file_text=HOSTILE.format(tag=tag) * 2000)
        assert outcome.result.is_error
        assert outcome.result.output.startswith(f"Error: cannot write {tools.sandbox.workdir}/{name}: ")
    after = tools.sandbox.exec(f"echo alive; test -e /tmp/editor-payload-ran-{tag}; echo $?")
    assert after.output == "alive\n1\n"
    assert edit(tools, command="view", path="pkg/mod.py").result.output == "     1\tone\n     2\ttwo\n     3\t"


def test_not_a_file_is_reported_and_directories_are_listed(tools: ToolRunner) -> None:
    tools.sandbox.exec("mkfifo pipe && mkdir -p listed/inner && touch listed/inner/f.py")
    root = tools.sandbox.workdir
    for name in ("pipe", "missing.py", "README.md/below", "listed"):
        outcome = edit(tools, command="str_replace", path=name, old_str="a", new_str="b")
        assert outcome.result.output == f"Error: {root}/{name} does not exist or is not a file"
    listing = edit(tools, command="view", path="listed").result.output
    assert listing == f"{root}/listed\n{root}/listed/inner\n{root}/listed/inner/f.py\n"


def test_editor_io_leaves_the_shell_state_alone(tools: ToolRunner) -> None:
    tools.run(ToolCall(id="b", name="bash", input={"command": "mkdir -p deep && cd deep && export KEEP=41"}))
    edit(tools, command="create", path="deep/state.txt", file_text="s\n")
    edit(tools, command="view", path="deep/state.txt")
    edit(tools, command="view", path="nowhere")
    outcome = tools.run(
        ToolCall(id="b", name="bash", input={"command": "echo $((KEEP+1)) $(basename $PWD); cat state.txt"})
    )
    assert outcome.result.output == "42 deep\ns\n"
    tools.run(ToolCall(id="b", name="bash", input={"command": "cd .."}))


def test_a_shell_killed_between_calls_is_replaced_without_an_error(tools: ToolRunner) -> None:
    if not isinstance(tools.sandbox, DockerSandbox):
        pytest.skip("only the Docker sandbox reads through the shell (the local one's shell: test_shell_file_io_...)")
    shell = tools.sandbox.shell
    tools.run(ToolCall(id="b", name="bash", input={"command": "cd pkg && export KEEP=7"}))
    tools.sandbox.exec(f"(sleep 0.3; kill -9 {shell.pid}) >/dev/null 2>&1 &")
    time.sleep(1)
    starts = shell.starts
    assert edit(tools, command="view", path="pkg/mod.py").result.output == "     1\tone\n     2\ttwo\n     3\t"
    assert shell.starts == starts + 1
    outcome = tools.run(ToolCall(id="b", name="bash", input={"command": "echo $KEEP $(basename $PWD); cd .."}))
    assert outcome.result.output == "7 pkg\n"


def test_docker_reads_and_writes_the_same_bytes_without_the_shell(tools: ToolRunner) -> None:
    """The fallback when no persistent shell starts: the same scripts, one `docker exec` each."""
    box = tools.sandbox
    if not isinstance(box, DockerSandbox):
        pytest.skip("only the Docker sandbox has a one-exec fallback")
    data = TRICKY.encode() * 3000
    path = f"{box.workdir}/fallback dir/f.bin"
    code, out = box._run_once(["bash", "-c", write_script(path, len(data))], stdin=data)
    assert (code, out) == (0, b"")
    code, out = box._run_once(["bash", "-c", read_script(path, None)])
    assert read_result(path, None, code, out) == data
    code, out = box._run_once(["bash", "-c", read_script(box.workdir, 10)])
    with pytest.raises(IsADirectoryError):
        read_result(box.workdir, 10, code, out)


def test_an_unreadable_file_says_permission_denied(tools: ToolRunner) -> None:
    if os.geteuid() == 0 and not isinstance(tools.sandbox, DockerSandbox):
        pytest.skip("root reads any file: only the Docker sandbox runs as a non-root user here")
    tools.sandbox.exec("printf 'x\\n' > locked.txt && chmod 000 locked.txt")
    outcome = edit(tools, command="view", path="locked.txt")
    assert outcome.result.is_error
    assert outcome.result.output.startswith(f"Error: cannot read {tools.sandbox.workdir}/locked.txt: ")
    assert "ermission denied" in outcome.result.output
    tools.sandbox.exec("chmod 644 locked.txt")


# the shell's file I/O against a local bash ----------------------------------------------------
@pytest.fixture
def shell() -> Iterator[tuple[ShellSession, str]]:
    """A persistent shell on a local bash, and the directory it works in."""
    with tempfile.TemporaryDirectory() as root:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": root, "LANG": "C.UTF-8"}
        session = ShellSession(
            lambda: PipeTransport(["bash", "--noprofile", "--norc"], root, env), f"{root}/.shell", 1000, 1000
        )
        session.start()
        try:
            yield session, root
        finally:
            session.close()


@pytest.mark.parametrize("data", [b"", bytes(range(256)) * 3, b"\n", b"no newline", TRICKY.encode() * 5000])
def test_shell_round_trips_every_byte(shell: tuple[ShellSession, str], data: bytes) -> None:
    session, root = shell
    path = f"{root}/sub dir/f.bin"
    session.write_bytes(path, data)
    assert Path(path).read_bytes() == data
    assert session.read_bytes(path) == data
    assert session.run("echo still here", 10).output == "still here\n"


def test_shell_write_failing_part_way_hangs_rather_than_run_the_rest(tmp_path: Path) -> None:
    root, tag = str(tmp_path), os.urandom(4).hex()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": root, "LANG": "C.UTF-8"}
    argv = ["bash", "--noprofile", "--norc", "-c", "ulimit -f 4; exec bash --noprofile --norc"]  # files <= 4 KiB
    session = ShellSession(lambda: PipeTransport(argv, root, env), f"{root}/.shell", 1000, 1000)
    session.start()
    try:
        with pytest.raises(OSError) as failed:
            session.write_bytes(f"{root}/big", HOSTILE.format(tag=tag).encode() * 5000, timeout=2)
        assert failed.value.errno == errno.ETIMEDOUT
        assert session.run("echo alive", 10).output == "alive\n"
        assert not Path(f"/tmp/editor-payload-ran-{tag}").exists()
    finally:
        session.close()


def test_shell_file_io_replaces_a_dead_shell(shell: tuple[ShellSession, str]) -> None:
    session, root = shell
    Path(root, "f").write_bytes(b"kept")
    assert session.pid is not None
    os.kill(session.pid, signal.SIGKILL)
    time.sleep(0.2)
    assert session.read_bytes(f"{root}/f") == b"kept"
    session.write_bytes(f"{root}/f", b"new")
    assert (Path(root, "f").read_bytes(), session.starts) == (b"new", 2)


def test_shell_read_errors_are_typed(shell: tuple[ShellSession, str]) -> None:
    session, root = shell
    Path(root, "f").write_bytes(b"12345")
    with pytest.raises(IsADirectoryError):
        session.read_bytes(root)
    with pytest.raises(FileNotFoundError):
        session.read_bytes(f"{root}/missing")
    with pytest.raises(OSError, match="file is over the limit of 4 bytes") as over:
        session.read_bytes(f"{root}/f", max_bytes=4)
    assert over.value.errno == errno.EFBIG
    assert session.read_bytes(f"{root}/f", max_bytes=5) == b"12345"


@pytest.mark.parametrize(("target", "error"), [("", IsADirectoryError), ("/f/below", OSError)])
def test_shell_failed_write_takes_its_bytes_off_the_input(
    shell: tuple[ShellSession, str], target: str, error: type[OSError]
) -> None:
    session, root = shell
    Path(root, "f").write_bytes(b"file")
    with pytest.raises(error):
        session.write_bytes(root + target, HOSTILE.format(tag="shell").encode() * 5000)
    assert session.run("echo alive", 10).output == "alive\n"
    assert not Path("/tmp/editor-payload-ran-shell").exists()
    assert Path(root, "f").read_bytes() == b"file"
