"""Each repository's environment: detection at a commit, the image built once per content key, and
`agent env|fix|bench|tasks validate` running on it (real git, real pip, real Docker, the fake provider)."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from agent.core.config import AgentConfig, load_config
from agent.ledger import Ledger
from sandboxes import make_sandbox
from sandboxes.environment import Environments, Needs, Prepared, detect_needs, environment_images
from sandboxes.environment.detect import DEFAULT_BUILD_REQUIRES
from tests.cli_helpers import run_agent
from tests.env_helpers import (
    PYPROJECT_DYNAMIC,
    PYPROJECT_WITH_EXTRAS,
    SETUP_CFG,
    SLUG_BROKEN,
    SLUG_FILES,
    SLUG_ISSUE,
    SLUG_PYPROJECT,
    TITLE_TEST,
    TOX_INI,
    commit_all,
    download_build_tools,
    head,
    image_id,
    image_text,
    image_with_wheel,
    make_slug_repo,
    offline_config,
    remove_images,
    sha,
    slug_task,
    write_tasks,
    write_wheel,
)
from tests.repo_helpers import edit_turn, fingerprint, git, make_repo
from tests.sandbox_helpers import CANARY, ensure_image, needs_docker

SANDBOX_IMAGE = "agent-sandbox:latest"
SOURCES = ["pyproject.toml [project.dependencies] (1)"]


# --- detect_needs: what a repository declares, read at a commit ---------------------------------
DETECT_CASES = {
    "pyproject_deps_and_test_extra": (
        {"pyproject.toml": PYPROJECT_WITH_EXTRAS, "p/__init__.py": ""},
        Needs(
            requirements=["requests>=2", "attrs", "pytest-mock"],
            install_project=True,
            extras=["test"],
            build_requires=DEFAULT_BUILD_REQUIRES,
            sources=[
                "pyproject.toml [project.dependencies] (2)",
                "pyproject.toml [project.optional-dependencies.test] (1)",
            ],
            files={"pyproject.toml": sha(PYPROJECT_WITH_EXTRAS)},
            name="p",
        ),
    ),
    "pyproject_dynamic_dependencies": (
        {"pyproject.toml": PYPROJECT_DYNAMIC, "deps.in": "attrs\n", "p/__init__.py": ""},
        Needs(
            install_project=True,
            build_requires=["setuptools>=61", "setuptools-scm"],
            resolve_project=True,
            # pip reads dynamic dependencies by running the build: the files it may read are hashed
            files={"deps.in": sha("attrs\n"), "pyproject.toml": sha(PYPROJECT_DYNAMIC)},
            name="p",
        ),
    ),
    "setup_cfg": (
        {"setup.cfg": SETUP_CFG, "p/__init__.py": ""},
        Needs(
            requirements=["requests", "attrs>=1", "pytest-cov"],
            install_project=True,
            extras=["testing"],
            build_requires=DEFAULT_BUILD_REQUIRES,
            sources=["setup.cfg install_requires (2)", "setup.cfg extras_require testing (1)"],
            files={"setup.cfg": sha(SETUP_CFG)},
            name="p",
        ),
    ),
    "setup_py_only": (
        {"setup.py": "from setuptools import setup\nsetup(name='p', install_requires=['attrs'])\n", "p.py": ""},
        Needs(
            install_project=True,
            build_requires=DEFAULT_BUILD_REQUIRES,
            resolve_project=True,
            sources=["setup.py (read by pip on the host)"],
            files={"setup.py": sha("from setuptools import setup\nsetup(name='p', install_requires=['attrs'])\n")},
        ),
    ),
    "requirements_files_without_docs": (
        {
            "requirements.txt": "-e .\n-r requirements-base.txt\n# pinned below\nrequests==2.0  # why\n\nattrs\n",
            "requirements-dev.txt": "pytest-mock\n--hash=sha256:00\n./vendored\n",
            "requirements-docs.txt": "sphinx\n",
            "requirements/test.txt": "hypothesis\nattrs\n",
            "requirements/docs.txt": "furo\n",
            "docs/requirements.txt": "myst-parser\n",
            "app.py": "",
        },
        Needs(
            requirements=["pytest-mock", "requests==2.0", "attrs", "hypothesis"],
            sources=["requirements-dev.txt (1)", "requirements.txt (2)", "requirements/test.txt (2)"],
            files={
                "requirements-dev.txt": sha("pytest-mock\n--hash=sha256:00\n./vendored\n"),
                "requirements.txt": sha(
                    "-e .\n-r requirements-base.txt\n# pinned below\nrequests==2.0  # why\n\nattrs\n"
                ),
                "requirements/test.txt": sha("hypothesis\nattrs\n"),
            },
            warnings=[
                "requirements-dev.txt: left out `--hash=sha256:00` (a pip option: set [environment] setup to use it)",
                "requirements-dev.txt: left out `./vendored` (a local path)",
                "requirements.txt: left out `-r requirements-base.txt` "
                "(requirements-base.txt is not in the repository at this commit)",
            ],
        ),
    ),
    "tox_ini_deps": (
        {"tox.ini": TOX_INI, "app.py": ""},
        Needs(
            requirements=["pytest", "mock>=4"],
            sources=["tox.ini [testenv] deps (2)"],
            files={"tox.ini": sha(TOX_INI)},
            warnings=[
                "tox.ini [testenv] deps: left out `-rother.txt` (other.txt is not in the repository at this commit)"
            ],
        ),
    ),
    "agent_toml_setup": (
        {"agent.toml": '[environment]\nsetup = "make deps"\n', "app.py": ""},
        Needs(setup="make deps", files={"agent.toml": sha('[environment]\nsetup = "make deps"\n')}),
    ),
    "flat_project_without_dependencies": (
        {"calc/ops.py": "", "tests/test_ops.py": ""},
        Needs(),
    ),
    "pyproject_flat_without_dependencies": (
        {"pyproject.toml": '[project]\nname = "p"\nversion = "1"\n', "p/__init__.py": ""},
        Needs(files={"pyproject.toml": sha('[project]\nname = "p"\nversion = "1"\n')}, name="p"),
    ),
    "src_layout_without_dependencies": (
        {"pyproject.toml": '[project]\nname = "p"\nversion = "1"\n', "src/p/__init__.py": ""},
        Needs(
            install_project=True,
            build_requires=DEFAULT_BUILD_REQUIRES,
            files={"pyproject.toml": sha('[project]\nname = "p"\nversion = "1"\n')},
            name="p",
        ),
    ),
}


@pytest.mark.parametrize(("files", "expected"), list(DETECT_CASES.values()), ids=list(DETECT_CASES))
def test_detect_needs_reads_each_kind_of_dependency_file(tmp_path, files, expected):
    repo = make_repo(tmp_path / "r", files)
    needs = detect_needs(repo, head(repo))
    assert needs == expected
    assert needs.empty is not (expected.requirements or expected.install_project or expected.setup)


@pytest.mark.parametrize(
    ("extras", "requirements", "chosen"),
    [
        (None, ["requests>=2", "attrs", "pytest-mock"], ["test"]),
        (["docs"], ["requests>=2", "attrs", "sphinx"], ["docs"]),
        (["docs", "nope"], ["requests>=2", "attrs", "sphinx"], ["docs"]),
        ([], ["requests>=2", "attrs"], []),
    ],
    ids=["test_and_dev_by_default", "chosen", "unknown_left_out", "none"],
)
def test_detect_needs_takes_the_configured_extras(tmp_path, extras, requirements, chosen):
    repo = make_repo(tmp_path / "r", {"pyproject.toml": PYPROJECT_WITH_EXTRAS, "p/__init__.py": ""})
    needs = detect_needs(repo, head(repo), extras)
    assert (needs.requirements, needs.extras, needs.install_project) == (requirements, chosen, True)


def test_detect_needs_reads_the_commit_not_the_working_tree(tmp_path):
    repo = make_repo(tmp_path / "r", {"pyproject.toml": SLUG_PYPROJECT, "slugapp/__init__.py": ""})
    first = head(repo)
    second = commit_all(repo, {"pyproject.toml": SLUG_PYPROJECT.replace('["tinyslug"]', '["tinyslug", "attrs"]')})
    (repo / "pyproject.toml").write_text(SLUG_PYPROJECT.replace('["tinyslug"]', '["uncommitted"]'))
    (repo / "requirements.txt").write_text("untracked\n")
    assert detect_needs(repo, second).requirements == ["tinyslug", "attrs"]
    assert detect_needs(repo, first).requirements == ["tinyslug"]
    assert detect_needs(repo, "HEAD").files == {"pyproject.toml": sha(git(repo, "show", "HEAD:pyproject.toml"))}


def test_detect_needs_says_which_file_is_not_valid_toml(tmp_path):
    from agent.core.errors import EnvironmentBuildError

    repo = make_repo(tmp_path / "r", {"pyproject.toml": "[project\n", "app.py": ""})
    with pytest.raises(EnvironmentBuildError, match=rf"pyproject.toml at {head(repo)[:12]} is not valid TOML"):
        detect_needs(repo, head(repo))


# --- Docker: session-wide wheels, configs and images --------------------------------------------
@dataclass(frozen=True)
class Setting:
    """The session's wheel directory and the config files that use it."""

    wheels: Path
    on: Path
    off: Path
    root: Path

    def env(self, config: Path | None = None) -> dict[str, str]:
        return {"AGENT_CONFIG": str(config or self.on)}

    def load(self, config: Path | None = None) -> AgentConfig:
        return load_config(env={"AGENT_HOME": str(self.root / "home"), "AGENT_CONFIG": str(config or self.on)})


@pytest.fixture(scope="session")
def setting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setting]:
    """tinyslug's wheel plus setuptools/wheel/pip in one directory; configs with detection on and off.

    Every environment image a test builds from a repository under the session's temporary
    directory is removed at the end (and only those)."""
    ensure_image(SANDBOX_IMAGE)
    root = tmp_path_factory.mktemp("environments")
    wheels = root / "wheels"
    write_wheel(wheels)
    download_build_tools(wheels)
    on = offline_config(root / "on.toml", wheels, root / "empty-index")
    off = offline_config(root / "off.toml", wheels, root / "empty-index", detect=False)
    yield Setting(wheels=wheels, on=on, off=off, root=root)
    base = str(tmp_path_factory.getbasetemp())
    client = docker.from_env()
    try:
        for image in environment_images():
            if image.repo.startswith(base + "/"):
                client.images.remove(image.tag, force=True)
    finally:
        client.close()


@pytest.fixture(scope="session")
def slug_env(setting: Setting) -> Prepared:
    """The environment of the `slugapp` repositories (same name, same pyproject: one image), built once."""
    repo = make_slug_repo(setting.root / "prebuilt" / "slugapp")
    config = setting.load()
    return Environments(config.sandbox, config.environment).prepare(repo, head(repo))


@needs_docker
def test_prepare_builds_once_per_content_key_and_reuses_the_image(setting, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    repo = make_slug_repo(tmp_path / "cacheapp", {"pyproject.toml": "# cacheapp\n" + SLUG_PYPROJECT})
    first = head(repo)
    config = setting.load()
    environments = Environments(config.sandbox, config.environment)
    lines: list[str] = []
    built = environments.prepare(repo, first, say=lines.append)
    assert (built.built, built.sources, built.setup) == (True, SOURCES, None)
    assert built.image == f"agent-env-cacheapp:{built.key[:16]}" and built.seconds > 0
    assert any(line.startswith("building the environment image agent-env-cacheapp:") for line in lines)
    made = image_id(built.image)

    again = environments.prepare(repo, first)
    assert (again.image, image_id(again.image)) == (built.image, made)
    fresh = Environments(config.sandbox, config.environment).prepare(repo, first)
    assert fresh == Prepared(image=built.image, key=built.key, built=False, sources=SOURCES)
    assert image_id(fresh.image) == made

    second = commit_all(
        repo, {"pyproject.toml": "# cacheapp\n" + SLUG_PYPROJECT.replace('"tinyslug"', '"tinyslug>=1"')}
    )
    changed = Environments(config.sandbox, config.environment).prepare(repo, second)
    assert changed.built is True and changed.key != built.key and changed.image != built.image

    unchanged = commit_all(repo, {"README.md": "no dependency change\n"})
    assert Environments(config.sandbox, config.environment).prepare(repo, unchanged).image == changed.image
    assert CANARY not in image_text(built.image) and CANARY not in image_text(changed.image)


@needs_docker
def test_a_second_prepare_on_the_same_object_reports_cached(setting, tmp_path):
    repo = make_slug_repo(tmp_path / "memoapp", {"pyproject.toml": "# memoapp\n" + SLUG_PYPROJECT})
    config = setting.load()
    environments = Environments(config.sandbox, config.environment)
    assert environments.prepare(repo, head(repo)).built is True
    assert environments.prepare(repo, head(repo)).built is False


@needs_docker
def test_the_environment_imports_its_dependency_and_the_editable_project_offline(setting, slug_env, tmp_path):
    repo = make_slug_repo(tmp_path / "slugapp")
    config = setting.load()
    again = Environments(config.sandbox, config.environment).prepare(repo, head(repo))
    assert (again.image, again.built, again.sources) == (slug_env.image, False, SOURCES)
    sandbox_config = config.sandbox.model_copy(update={"image": slug_env.image})
    with make_sandbox(sandbox_config, repo, head(repo), "test-environments") as sandbox:
        imported = sandbox.exec(
            "(cd / && python -c \"import tinyslug, slugapp.titles; print(tinyslug.slugify('Hello World'), "
            'slugapp.titles.__file__)")'
        )
        assert (imported.exit_code, imported.output.strip()) == (0, "hello-world /testbed/slugapp/titles.py")
        edited = sandbox.exec(
            "sed -i 's/return title.strip()/return \"edited\"/' slugapp/titles.py && "
            "(cd / && python -c \"from slugapp.titles import title_slug; print(title_slug('x'))\")"
        )
        assert (edited.exit_code, edited.output.strip()) == (0, "edited")  # the editable install imports the copy
        assert sandbox.exec("ls -A /tmp/agent-wheelhouse /tmp/agent-setup.sh").exit_code != 0
        assert sandbox.exec("whoami").output.strip() == "agent"


@needs_docker
def test_the_attempt_container_has_no_network_and_no_host_secret(setting, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    repo = make_slug_repo(tmp_path / "secretapp", {"pyproject.toml": "# secretapp\n" + SLUG_PYPROJECT})
    config = setting.load()
    prepared = Environments(config.sandbox, config.environment).prepare(repo, head(repo))
    assert prepared.built is True  # built while the canary was in this process's environment
    sandbox_config = config.sandbox.model_copy(update={"image": prepared.image})
    with make_sandbox(sandbox_config, repo, head(repo), "test-environments") as sandbox:
        interfaces = sandbox.exec("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
        assert (interfaces.exit_code, interfaces.output.split()) == (0, ["lo"])
        connect = sandbox.exec("python3 -c \"import socket; socket.create_connection(('1.1.1.1', 80), timeout=2)\"")
        assert connect.exit_code == 1 and "OSError" in connect.output
        assert CANARY not in sandbox.exec("env; cat /proc/self/environ").output
        assert "ANTHROPIC" not in sandbox.exec("env").output
    assert CANARY not in image_text(prepared.image)
    client = docker.from_env()
    try:
        found = client.containers.run(
            prepared.image,
            ["sh", "-c", f"grep -rsl {CANARY} /usr /tmp /testbed /root /home /etc; echo done"],
            user="root",
            network_mode="none",
            remove=True,
        )
    finally:
        client.close()
    assert found.decode().split() == ["done"]


# --- agent env build|list|prune ----------------------------------------------------------------
@needs_docker
@pytest.mark.parametrize(
    ("files", "setup", "says"),
    [
        (
            {"pyproject.toml": SLUG_PYPROJECT.replace('"tinyslug"', '"tinyslug==99"')},
            None,
            [
                "error: resolving the dependencies on this machine failed:",
                "No matching distribution found for tinyslug==99",
                "set [environment] setup / find_links",
            ],
        ),
        (
            {},
            "echo boom-7d1 >&2; exit 3",
            [
                "error: building the environment for badsetup failed:",
                "boom-7d1",
                "set [environment] setup in agent.toml (or --setup)",
            ],
        ),
    ],
    ids=["unresolvable_requirement", "failing_setup"],
)
def test_env_build_failure_exits_2_with_the_pip_tail_and_what_to_do(setting, tmp_path, files, setup, says):
    repo = make_slug_repo(tmp_path / "badsetup", files)
    extra = [] if setup is None else ["--setup", setup]
    done = run_agent(tmp_path, "env", "build", "--repo", str(repo), *extra, env=setting.env())
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.startswith("error: ") and [
        line for line in done.stderr.splitlines() if line.startswith("error:")
    ] == [done.stderr.splitlines()[0]]
    for text in says:
        assert text in done.stderr
    assert "Traceback" not in done.stderr
    assert environment_images(str(repo)) == []


@needs_docker
def test_a_failing_setup_says_its_exit_code_in_plain_text(setting, tmp_path):
    repo = make_slug_repo(tmp_path / "exitcode")
    setup = ["--setup", "echo boom-7d1 >&2; exit 3"]
    done = run_agent(tmp_path, "env", "build", "--repo", str(repo), *setup, env=setting.env())
    assert done.returncode == 2 and "boom-7d1" in done.stderr
    assert "\x1b" not in done.stderr
    assert "non-zero code: 3" in done.stderr


@needs_docker
def test_env_build_list_and_prune_round_trip(setting, tmp_path):
    repo = make_slug_repo(tmp_path / "listedapp", {"pyproject.toml": "# listedapp\n" + SLUG_PYPROJECT})
    done = run_agent(tmp_path, "env", "build", "--repo", str(repo), "--json", env=setting.env())
    assert done.returncode == 0, done.stderr
    built = json.loads(done.stdout)
    assert {key: built[key] for key in ("repo", "needed", "built", "sources", "setup")} == {
        "repo": str(repo),
        "needed": True,
        "built": True,
        "sources": SOURCES,
        "setup": None,
    }
    assert built["image"].startswith("agent-env-listedapp:")
    progress = done.stderr.splitlines()  # piped: one plain line per step on stderr, the JSON alone on stdout
    assert "environment: resolving 1 requirement(s) on this machine for Python 3.11" in progress[0:3]
    assert any(line.startswith("environment: building the environment image agent-env-listedapp:") for line in progress)
    again = json.loads(run_agent(tmp_path, "env", "build", "--repo", str(repo), "--json", env=setting.env()).stdout)
    assert (again["image"], again["built"], again["seconds"]) == (built["image"], False, 0.0)

    listed = run_agent(tmp_path, "env", "list", "--repo", str(repo), "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert {key: row[key] for key in ("tag", "repo", "base", "python")} == {
        "tag": built["image"],
        "repo": str(repo),
        "base": SANDBOX_IMAGE,
        "python": "3.11",
    }
    assert row["size_mb"] > 0
    pruned = run_agent(tmp_path, "env", "prune", "--repo", str(repo), "--json")
    assert (pruned.returncode, json.loads(pruned.stdout)) == (0, [built["image"]]), pruned.stderr
    assert json.loads(run_agent(tmp_path, "env", "list", "--repo", str(repo), "--json").stdout) == []
    assert json.loads(run_agent(tmp_path, "env", "prune", "--repo", str(repo), "--json").stdout) == []


@needs_docker
def test_env_build_of_a_flat_project_needs_nothing(setting, tmp_path):
    repo = make_repo(tmp_path / "flat", {"calc.py": "x = 1\n", "test_calc.py": "def test_x():\n    pass\n"})
    done = run_agent(tmp_path, "env", "build", "--repo", str(repo), "--json", env=setting.env())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "repo": str(repo),
        "image": SANDBOX_IMAGE,
        "needed": False,
        "built": False,
        "seconds": 0.0,
        "sources": [],
        "setup": None,
        "warnings": [],
        "text": f"no dependencies to install: {SANDBOX_IMAGE}",
    }


# --- agent fix ----------------------------------------------------------------------------------
SLUG_PLAN = {
    "text": "Plan: title_slug() returns the title as it is; I will make it call slugify and run pytest.",
    "thinking": "title_slug ignores slugify.",
    "tool_calls": [{"name": "str_replace_based_edit_tool", "input": {"command": "view", "path": "slugapp/titles.py"}}],
}
SLUG_SCRIPT = {"rules": [{"turns": [SLUG_PLAN, edit_turn(SLUG_BROKEN, "slugapp/titles.py"), {"text": "Fixed."}]}]}


def fix_repo(root: Path) -> Path:
    """The slug repository with the failing test committed (what a user runs `agent fix` on)."""
    return make_slug_repo(root / "slugapp", {"tests/test_titles.py": TITLE_TEST})


def fix(tmp_path: Path, repo: Path, env: dict[str, str]):
    issue = tmp_path / "issue.md"
    issue.write_text(SLUG_ISSUE)
    args = ["fix", str(issue), "--repo", str(repo), "--test-cmd", "python -m pytest -q"]
    return run_agent(tmp_path, *args, "--ladder", "claude-opus-4-7@high", "--json", env=env)


@needs_docker
def test_fix_installs_the_declared_dependency_and_solves(setting, slug_env, tmp_path, make_fake, fake_env):
    repo = fix_repo(tmp_path)
    fake = make_fake(SLUG_SCRIPT)
    done = fix(tmp_path, repo, {**fake_env(fake), **setting.env()})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["status"], result["solved"]) == ("solved", True)
    assert [(a["effort"], a["tests_passed"]) for a in result["attempts"]] == [("high", True)]
    assert "return slugify(title)" in git(repo, "show", f"{result['branch']}:slugapp/titles.py")
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    [environment] = [event.data for event in ledger.events(result["run_id"], kinds=("environment",))]
    assert {key: environment[key] for key in ("image", "needed", "built", "sources", "setup")} == {
        "image": slug_env.image,
        "needed": True,
        "built": False,
        "sources": SOURCES,
        "setup": None,
    }
    assert ledger.events(result["run_id"], kinds=("environment_preparing", "environment_progress")) == []
    [baseline] = [event.data for event in ledger.events(result["run_id"], kinds=("baseline",))]
    assert baseline["counts"] == {"passed": 1, "failed": 1}


@needs_docker
def test_fix_takes_find_links_from_the_repositorys_agent_toml(setting, tmp_path, make_fake, fake_env):
    repo = make_slug_repo(
        tmp_path / "slugapp", {"tests/test_titles.py": TITLE_TEST, "agent.toml": setting.on.read_text()}
    )
    fake = make_fake(SLUG_SCRIPT)
    done = fix(tmp_path, repo, fake_env(fake))  # AGENT_CONFIG is /dev/null: only the repository says where
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["status"], [a["tests_passed"] for a in result["attempts"]]) == ("solved", [True])
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    [environment] = [event.data for event in ledger.events(result["run_id"], kinds=("environment",))]
    assert (environment["needed"], environment["built"], environment["sources"]) == (True, True, SOURCES)


@needs_docker
def test_fix_without_the_environment_stops_before_any_model_call(setting, tmp_path, make_fake, fake_env):
    repo = fix_repo(tmp_path)
    before, commit = fingerprint(repo), head(repo)
    branches, status = git(repo, "branch", "--list"), git(repo, "status", "--porcelain")
    fake = make_fake(SLUG_SCRIPT)
    done = fix(tmp_path, repo, {**fake_env(fake), **setting.env(setting.off)})
    assert done.returncode == 2, (done.stdout, done.stderr)
    result = json.loads(done.stdout)
    assert (result["status"], result["solved"], result["attempts"], result["api_cost_usd"]) == ("error", False, [], 0)
    assert result["review_minutes"] == 0 and "cannot import 'tinyslug'" in result["error"]
    assert done.stderr.startswith(
        "error: the tests cannot import 'tinyslug', which the sandbox lacks "
        "(pytest cannot collect tests/test_base.py, tests/test_titles.py): "
    )
    assert "set [environment] setup / --setup; no model was called" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr
    assert fake.requests == []
    ledger_path = tmp_path / "agent-home" / "ledger.sqlite"
    ledger = Ledger(ledger_path)
    [run] = ledger.runs()
    [issue] = ledger.issues(run.id)
    assert (issue.status, issue.error_kind) == ("error", "environment")
    assert "cannot import 'tinyslug'" in (issue.error or "")
    assert ledger.attempts(run.id) == []
    with sqlite3.connect(ledger_path) as db:
        assert db.execute("SELECT count(*) FROM calls").fetchone() == (0,)
    [environment] = [event.data for event in ledger.events(run.id, kinds=("environment",))]
    assert (environment["image"], environment["needed"]) == (SANDBOX_IMAGE, False)
    assert fingerprint(repo) == before and head(repo) == commit
    assert (git(repo, "branch", "--list"), git(repo, "status", "--porcelain")) == (branches, status)


# --- agent bench and agent tasks validate ---------------------------------------------------------
def bench(tmp_path: Path, *args: str | Path, env: dict[str, str]) -> dict:
    done = run_agent(tmp_path, "bench", *map(str, args), "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def outcome(result: dict) -> tuple:
    return tuple(result[key] for key in ("instances", "resolved_ids", "unresolved_ids", "error_ids"))


@pytest.fixture
def slug_tasks(tmp_path: Path) -> Path:
    repo = make_slug_repo(tmp_path / "suite" / "slugapp")
    return write_tasks(tmp_path / "suite" / "tasks.jsonl", slug_task(repo))


@needs_docker
@pytest.mark.parametrize(("model", "resolved"), [("oracle", True), ("null", False)])
def test_bench_runs_tasks_in_their_environment(setting, slug_env, slug_tasks, tmp_path, model, resolved):
    result = bench(tmp_path, slug_tasks, "--model", model, env=setting.env())
    assert outcome(result) == ((1, ["slug__title"], [], []) if resolved else (1, [], ["slug__title"], []))
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    [issue] = ledger.issues(result["run_id"])
    assert (issue.status, issue.error_kind) == ("solved" if resolved else "unsolved", None)
    images = {event.data["image"] for event in ledger.events(result["run_id"], kinds=("environment",))}
    assert images == {slug_env.image}


@needs_docker
def test_bench_without_the_environment_is_an_error_and_a_resume_picks_it_up(setting, slug_env, slug_tasks, tmp_path):
    result = bench(tmp_path, slug_tasks, "--model", "oracle", env=setting.env(setting.off))
    assert outcome(result) == (1, [], [], ["slug__title"])
    assert (result["review_minutes"], result["attempts"]) == (0, 0)
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    [issue] = ledger.issues(result["run_id"])
    assert (issue.status, issue.error_kind) == ("error", "environment")
    assert "cannot import 'tinyslug'" in (issue.error or "")
    assert ledger.attempts(result["run_id"]) == []

    resumed = bench(tmp_path, "--resume", result["run_id"], "--model", "oracle", env=setting.env())
    assert outcome(resumed) == (1, ["slug__title"], [], [])
    assert [(i.status, i.error_kind) for i in ledger.issues(result["run_id"])] == [
        ("superseded", "environment"),
        ("solved", None),
    ]


@needs_docker
def test_bench_with_an_environment_that_cannot_build_is_an_error_per_task(setting, tmp_path):
    pyproject = SLUG_PYPROJECT.replace('"tinyslug"', '"tinyslug==99"')
    repo = make_slug_repo(tmp_path / "suite" / "slugbad", {"pyproject.toml": pyproject})
    tasks = write_tasks(tmp_path / "suite" / "tasks.jsonl", slug_task(repo, "bad__a"), slug_task(repo, "bad__b"))
    result = bench(tmp_path, tasks, "--model", "oracle", env=setting.env())
    assert outcome(result) == (2, [], [], ["bad__a", "bad__b"])
    assert (result["review_minutes"], result["attempts"], result["api_cost_usd"]) == (0, 0, 0)
    issues = Ledger(tmp_path / "agent-home" / "ledger.sqlite").issues(result["run_id"])
    assert [(i.status, i.error_kind) for i in issues] == [("error", "environment")] * 2
    assert all("No matching distribution found for tinyslug==99" in (i.error or "") for i in issues)


@needs_docker
def test_tasks_validate_checks_tasks_in_their_environment(setting, slug_env, slug_tasks, tmp_path):
    done = run_agent(tmp_path, "tasks", "validate", str(slug_tasks), "--json", env=setting.env())
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    validation = json.loads(line)
    assert (validation["instance_id"], validation["valid"], validation["problems"]) == ("slug__title", True, [])
    assert validation["base"]["FAIL_TO_PASS"] == {"success": [], "failure": ["tests/test_titles.py::test_title_slug"]}
    assert validation["gold"]["resolved"] is True
    assert validation["base"]["environment_problem"] is None


@needs_docker
def test_tasks_validate_without_the_environment_says_why(setting, slug_tasks, tmp_path):
    done = run_agent(tmp_path, "tasks", "validate", str(slug_tasks), "--json", env=setting.env(setting.off))
    assert done.returncode == 1, done.stderr
    validation = json.loads(done.stdout)
    assert validation["valid"] is False
    assert "cannot import 'tinyslug'" in validation["base"]["environment_problem"]


# --- a task's own image, and --setup ---------------------------------------------------------------
@pytest.fixture(scope="session")
def tinyslug_image(setting: Setting) -> Iterator[str]:
    """A local image FROM the sandbox image with tinyslug preinstalled; removed with its layered base."""
    tag = f"agent-test-tinyslug:{secrets.token_hex(4)}"
    built = image_with_wheel(SANDBOX_IMAGE, setting.wheels / "tinyslug-1.0-py3-none-any.whl", tag)
    yield tag
    remove_images(f"agent-task-base:{hashlib.sha256(built.encode()).hexdigest()[:16]}", tag)


@needs_docker
def test_a_tasks_own_image_is_used_without_detection(setting, tinyslug_image, tmp_path):
    repo = make_slug_repo(tmp_path / "suite" / "slugapp")
    tasks = write_tasks(tmp_path / "suite" / "tasks.jsonl", slug_task(repo, image=tinyslug_image))
    result = bench(tmp_path, tasks, "--model", "oracle", env=setting.env(setting.off))
    assert outcome(result) == (1, ["slug__title"], [], [])
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    [environment] = [event.data for event in ledger.events(result["run_id"], kinds=("environment",))]
    assert environment["image"].startswith("agent-task-base:") and environment["needed"] is False


@needs_docker
def test_an_explicit_image_is_used_as_it_is(setting, tinyslug_image, tmp_path):
    repo = make_slug_repo(tmp_path / "suite" / "slugapp")
    tasks = write_tasks(tmp_path / "suite" / "tasks.jsonl", slug_task(repo))
    result = bench(tmp_path, tasks, "--model", "oracle", "--image", tinyslug_image, env=setting.env())
    assert outcome(result) == (1, ["slug__title"], [], [])
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    [environment] = [event.data for event in ledger.events(result["run_id"], kinds=("environment",))]
    assert (environment["image"], environment["needed"]) == (tinyslug_image, False)
    done = run_agent(tmp_path, "env", "build", "--repo", str(repo), "--image", tinyslug_image, "--json")
    assert done.returncode == 0, done.stderr
    assert {key: json.loads(done.stdout)[key] for key in ("image", "needed", "built")} == {
        "image": tinyslug_image,
        "needed": False,
        "built": False,
    }


EXTRA_FILES = {
    **{name: text for name, text in SLUG_FILES.items() if name != "pyproject.toml"},
    "deps/extra.txt": "tinyslug\n",
}
"""The slug project without packaging metadata: its dependency is only in a file detection does not read."""


def test_detection_finds_nothing_in_a_nonstandard_dependency_file(tmp_path):
    repo = make_repo(tmp_path / "extradeps", EXTRA_FILES)
    assert detect_needs(repo, head(repo)) == Needs()


@needs_docker
@pytest.mark.parametrize("where", ["flag", "task", "agent_toml"])
def test_setup_installs_a_dependency_detection_does_not_see(setting, tmp_path, where):
    setup = "pip install -r deps/extra.txt"
    files = (
        {**EXTRA_FILES, "agent.toml": f'[environment]\nsetup = "{setup}"\n'} if where == "agent_toml" else EXTRA_FILES
    )
    repo = make_repo(tmp_path / "suite" / "extradeps", files)
    task = slug_task(repo, instance_id="extra__title", **({"setup": setup} if where == "task" else {}))
    tasks = write_tasks(tmp_path / "suite" / "tasks.jsonl", task)
    flag = ["--setup", setup] if where == "flag" else []
    result = bench(tmp_path, tasks, "--model", "oracle", *flag, env=setting.env())
    assert outcome(result) == (1, ["extra__title"], [], [])
    ledger = Ledger(tmp_path / "agent-home" / "ledger.sqlite")
    [environment] = [event.data for event in ledger.events(result["run_id"], kinds=("environment",))]
    assert (environment["needed"], environment["setup"], environment["sources"]) == (
        True,
        setup,
        ["setup command (1)"],
    )


@needs_docker
def test_setup_through_a_nested_requirements_file(setting, tmp_path):
    repo = make_repo(tmp_path / "nested", {**EXTRA_FILES, "deps/all.txt": "-r extra.txt\n"})
    done = run_agent(
        tmp_path, "env", "build", "--repo", str(repo), "--setup", "pip install -r deps/all.txt", env=setting.env()
    )
    assert done.returncode == 0, done.stderr


def test_a_change_to_a_dynamic_dependency_file_changes_the_needs(tmp_path):
    repo = make_repo(tmp_path / "r", {"pyproject.toml": PYPROJECT_DYNAMIC, "deps.in": "\n", "p/__init__.py": ""})
    before = detect_needs(repo, head(repo))
    after = detect_needs(repo, commit_all(repo, {"deps.in": "tinyslug\n"}))
    assert before != after
