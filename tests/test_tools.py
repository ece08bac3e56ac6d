"""The bash and editor tools executed in a sandbox: a LocalSandbox and a real Docker one.

The editor's exact-byte I/O, size limit and failure cases are in `test_editor_shell.py`.
"""

from __future__ import annotations

import pytest
from sandbox_helpers import ensure_image, requires_docker

from agent.core.config import SandboxConfig
from agent.core.messages import ToolCall
from agent.engine.tools import ToolRunner
from sandboxes.docker_sandbox import DockerSandbox
from sandboxes.local_sandbox import LocalSandbox
from tests.repo_helpers import git, make_repo

FILES = {"pkg/mod.py": "one\ntwo\nthree\ntwo again\n", "README.md": "# r\n"}


@pytest.fixture(params=["local", pytest.param("docker", marks=requires_docker)])
def tools(request, tmp_path):
    repo = make_repo(tmp_path / "repo", FILES)
    base = git(repo, "rev-parse", "HEAD").strip()
    if request.param == "docker":
        config = SandboxConfig()
        ensure_image(config.image)
        box = DockerSandbox(config, repo, base, "t")
    else:
        box = LocalSandbox(SandboxConfig(kind="local"), repo, base, "t")
    with box:
        yield ToolRunner(box, command_timeout=20)


def edit(tools: ToolRunner, **arguments):
    return tools.run(ToolCall(id="c1", name="str_replace_based_edit_tool", input=arguments))


def test_view_numbers_lines(tools):
    outcome = edit(tools, command="view", path="pkg/mod.py")
    assert outcome.result.output == "     1\tone\n     2\ttwo\n     3\tthree\n     4\ttwo again\n     5\t"
    assert not outcome.result.is_error


def test_view_range(tools):
    assert (
        edit(tools, command="view", path="pkg/mod.py", view_range=[2, 3]).result.output == "     2\ttwo\n     3\tthree"
    )


def test_view_directory_lists_files(tools):
    output = edit(tools, command="view", path=".").result.output
    assert "pkg/mod.py" in output and ".git/" not in output


def test_str_replace_needs_a_unique_match(tools):
    outcome = edit(tools, command="str_replace", path="pkg/mod.py", old_str="two", new_str="2")
    assert outcome.result.is_error and not outcome.malformed
    assert outcome.result.output == (
        "Error: old_str occurs 2 times in "
        + tools.sandbox.workdir
        + "/pkg/mod.py; include more context to make it unique"
    )
    ok = edit(tools, command="str_replace", path="pkg/mod.py", old_str="two again", new_str="2 again")
    assert not ok.result.is_error
    assert tools.sandbox.read_file("pkg/mod.py") == "one\ntwo\nthree\n2 again\n"


def test_create_and_insert(tools):
    edit(tools, command="create", path="pkg/new.py", file_text="a\nc\n")
    edit(tools, command="insert", path="pkg/new.py", insert_line=1, new_str="b")
    assert tools.sandbox.read_file("pkg/new.py") == "a\nb\nc\n"
    assert "pkg/new.py" in tools.sandbox.diff()


def test_paths_outside_the_repository_are_refused(tools):
    outcome = edit(tools, command="create", path="/etc/evil", file_text="x")
    assert outcome.result.is_error and "outside the repository" in outcome.result.output


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            ToolCall(id="c", name="python", input={}),
            "Error: unknown tool 'python': use bash or str_replace_based_edit_tool",
        ),
        (ToolCall(id="c", name="bash", input={}), "Error: missing required field 'command' for bash"),
        (
            ToolCall(id="c", name="str_replace_based_edit_tool", input={"command": "delete", "path": "x"}),
            "Error: unknown editor command 'delete': use one of view, create, str_replace, insert",
        ),
        (
            ToolCall(id="c", name="bash", input={}, error="tool input is not valid JSON"),
            "Error: tool input is not valid JSON",
        ),
    ],
)
def test_malformed_calls_are_answered_not_raised(tools, call, message):
    outcome = tools.run(call)
    assert (outcome.result.output, outcome.result.is_error, outcome.malformed) == (message, True, True)


def test_bash_reports_exit_code_and_keeps_state(tools):
    tools.run(ToolCall(id="c", name="bash", input={"command": "cd pkg && export X=41"}))
    outcome = tools.run(ToolCall(id="c", name="bash", input={"command": "echo $((X+1)) $(basename $PWD); false"}))
    assert outcome.result.output == "42 pkg\n\n[exit code 1]"
    assert outcome.result.is_error and not outcome.malformed
