"""Environments for the build backends people use: tox lines read or left out with a warning, the
version of the commit for VCS-versioned builds, what an editable build asks for, the files the
install generates, and real PyPI projects of each backend built with no `--setup` and tested at
HEAD and at an older commit (real pip, real git, real Docker)."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement

from agent.core.config import load_config
from sandboxes import make_sandbox
from sandboxes.environment import Environments, Needs, Prepared, detect_needs
from sandboxes.environment.backend import commit_version, editable_requires, version_environment
from sandboxes.environment.generated import GENERATED_DIR, record_command, record_script
from sandboxes.environment.poetry import poetry_specifier
from tests.env_helpers import commit_all, head, sha
from tests.repo_helpers import git, make_repo
from tests.sandbox_helpers import ensure_image, needs_docker
from tests.sdist_helpers import REAL_PROJECTS, RealProject, fetch_sdist, release_repo

SANDBOX_IMAGE = "agent-sandbox:latest"

SLUGIFY_TOX = """\
[tox]
env_list =
    py{3.10, 3.11}-{unidecode, text_unidecode, anyascii}

[testenv]
package = wheel
deps =
    coverage[toml]>=7
    pytest>=8
    unidecode: pip
    unidecode: Unidecode>=1.1.1
    anyascii: anyascii>=0.3.2
commands = coverage run -m pytest {posargs:tests}
"""
"""python-slugify 9.2.0's tox.ini (its [testenv]): factor-conditional deps."""
SLUGIFY_WARNINGS = [
    f"tox.ini [testenv] deps: left out `{line}` (only for tox environments with factor {factor})"
    for factor, line in (
        ("unidecode", "unidecode: pip"),
        ("unidecode", "unidecode: Unidecode>=1.1.1"),
        ("anyascii", "anyascii: anyascii>=0.3.2"),
    )
]


# --- lines detection reads, interprets, or leaves out with a warning ------------------------------
def test_tox_factor_conditionals_are_left_out_with_a_warning_not_read_as_requirements(tmp_path):
    repo = make_repo(tmp_path / "slugify", {"tox.ini": SLUGIFY_TOX, "slugify.py": ""})
    assert detect_needs(repo, head(repo)) == Needs(
        requirements=["coverage[toml]>=7", "pytest>=8"],
        sources=["tox.ini [testenv] deps (2)"],
        files={"tox.ini": sha(SLUGIFY_TOX)},
        warnings=SLUGIFY_WARNINGS,
    )


TOX_SUBSTITUTIONS = """\
[base]
deps =
    attrs>=22
    iniconfig

[testenv]
deps =
    {[base]deps}
    {env:EXTRA_DEP:tinyslug}
    !nomock: mock>=4
    py311,!nohypo: hypothesis
    py{310,311}-django: django
    {env:NO_DEFAULT}
    -r{toxinidir}/requirements-test.txt
    git+https://example.invalid/repo.git
"""


def packaging_says(line: str) -> str:
    """What `packaging` says is wrong with `line` (its wording changes between versions)."""
    with pytest.raises(InvalidRequirement) as caught:
        Requirement(line)
    return str(caught.value).splitlines()[0]


def test_tox_substitutions_and_negated_factors_are_interpreted(tmp_path):
    repo = make_repo(
        tmp_path / "subst", {"tox.ini": TOX_SUBSTITUTIONS, "requirements-test.txt": "pytest-mock\n", "app.py": ""}
    )
    needs = detect_needs(repo, head(repo))
    assert needs.requirements == ["pytest-mock", "attrs>=22", "iniconfig", "tinyslug", "mock>=4", "hypothesis"]
    assert needs.sources == ["requirements-test.txt (1)", "tox.ini [testenv] deps (6)"]
    assert needs.warnings == [
        "tox.ini [testenv] deps: left out `py{310,311}-django: django` "
        "(only for tox environments with factor py{310,311}-django)",
        "tox.ini [testenv] deps: left out `{env:NO_DEFAULT}` (a tox substitution detection cannot resolve)",
        "tox.ini [testenv] deps: left out `git+https://example.invalid/repo.git` "
        f"(not a requirement: {packaging_says('git+https://example.invalid/repo.git')})",
    ]


def test_a_line_that_is_not_a_requirement_is_left_out_and_the_rest_kept(tmp_path):
    pyproject = '[project]\nname = "p"\nversion = "1"\ndependencies = ["attrs", "not a requirement!"]\n'
    repo = make_repo(tmp_path / "bad", {"pyproject.toml": pyproject, "p/__init__.py": ""})
    needs = detect_needs(repo, head(repo))
    assert (needs.requirements, needs.install_project) == (["attrs"], True)
    [warning] = needs.warnings
    assert warning == (
        "pyproject.toml [project.dependencies]: left out `not a requirement!` "
        f"(not a requirement: {packaging_says('not a requirement!')})"
    )
    shown = Prepared(image="agent-env-p:1", key="k", sources=needs.sources, warnings=needs.warnings).describe()
    assert shown.splitlines() == [
        "agent-env-p:1 (cached; pyproject.toml [project.dependencies] (1))",
        f"warning: {warning}",
    ]


@pytest.mark.parametrize(
    ("constraint", "specifier"),
    [
        ("^7.2.0", ">=7.2.0,<8"),
        ("^0.990", ">=0.990,<0.991"),
        ("^0.0.3", ">=0.0.3,<0.0.4"),
        ("~1.2.3", ">=1.2.3,<1.3"),
        ("~1", ">=1,<2"),
        ("1.2.3", "==1.2.3"),
        ("1.2.*", "==1.2.*"),
        (">= 2.0, < 3", ">=2.0,<3"),
        ("*", ""),
    ],
)
def test_poetry_constraints_become_pep_440_specifiers(constraint, specifier):
    assert poetry_specifier(constraint) == specifier


POETRY_PYPROJECT = """\
[tool.poetry]
name = "poems"
version = "1.0"

[tool.poetry.dependencies]
python = ">=3.8"
requests = { version = "^2.28", extras = ["socks"] }
local = { path = "../local" }
either = "^1 || ^2"

[tool.poetry.group.dev.dependencies]
pytest = "^7.2.0"
PyYAML = "^6.0"

[tool.poetry.group.docs.dependencies]
Sphinx = "^4.3.2"

[dependency-groups]
test = ["hypothesis>=6", {include-group = "dev"}]
lint = ["ruff"]

[build-system]
requires = ["poetry-core>=1.0.0"]
build-backend = "poetry.core.masonry.api"
"""


def test_poetry_tables_and_dependency_groups_are_read(tmp_path):
    repo = make_repo(tmp_path / "poems", {"pyproject.toml": POETRY_PYPROJECT, "poems/__init__.py": ""})
    source = "pyproject.toml [tool.poetry.dependencies]"
    assert detect_needs(repo, head(repo)) == Needs(
        requirements=["requests[socks]>=2.28,<3", "pytest>=7.2.0,<8", "PyYAML>=6.0,<7", "hypothesis>=6"],
        install_project=True,
        build_requires=["poetry-core>=1.0.0"],
        sources=[
            f"{source} (1)",
            "pyproject.toml [tool.poetry.group.dev.dependencies] (2)",
            "pyproject.toml [dependency-groups] test (1)",
        ],
        files={"pyproject.toml": sha(POETRY_PYPROJECT)},
        name="poems",
        warnings=[
            f"{source}: left out `local = {{'path': '../local'}}` (a path, git or URL dependency)",
            f"{source}: left out `either = '^1 || ^2'` (an `||` constraint has no PEP 440 form)",
        ],
    )


# --- the version of the commit -------------------------------------------------------------------
def test_the_version_comes_from_the_nearest_tag_of_the_commit(tmp_path):
    repo = make_repo(tmp_path / "versions", {"app.py": "x = 1\n"})
    untagged = head(repo)
    assert commit_version(repo, untagged) == f"0.0.0+g{untagged[:12]}"
    git(repo, "tag", "v1.4.0")
    assert commit_version(repo, untagged) == "1.4.0"
    later = commit_all(repo, {"app.py": "x = 2\n"})
    third = commit_all(repo, {"app.py": "x = 3\n"})
    assert commit_version(repo, third) == f"1.4.0+2.g{third[:12]}"
    assert commit_version(repo, later) == f"1.4.0+1.g{later[:12]}"
    git(repo, "tag", "not-a-version", third)
    assert commit_version(repo, third) == f"0.0.0+g{third[:12]}"


def test_the_pretend_version_reaches_every_vcs_versioning_tool():
    assert version_environment("3.17.0", "Pretty.Table_x") == {
        "SETUPTOOLS_SCM_PRETEND_VERSION": "3.17.0",
        "PDM_BUILD_SCM_VERSION": "3.17.0",
        "POETRY_DYNAMIC_VERSIONING_BYPASS": "3.17.0",
        "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_PRETTY_TABLE_X": "3.17.0",
    }
    assert "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_" not in " ".join(version_environment("1", None))


# --- what the install generated, recorded for the sandboxes --------------------------------------
def test_the_record_script_keeps_what_the_install_added_and_no_artifact(tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    (work / "src" / "pkg").mkdir(parents=True)
    (work / "src" / "pkg" / "__init__.py").write_text("")
    script = tmp_path / "record.py"
    script.write_text(record_script())
    for phase, made in (("before", {}), ("after", {"src/pkg/_version.py": "v = '1'\n", "odd [x]#.txt": "x"})):
        for name, text in made.items():
            (work / name).write_text(text)
        for name in ("src/pkg.egg-info/PKG-INFO", "src/pkg/__pycache__/m.pyc", "build/lib/pkg.py"):
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text("artifact")
        command = record_command(phase, str(script)).replace(GENERATED_DIR, str(out)).replace("python3", sys.executable)
        subprocess.run(["bash", "-c", command], cwd=work, check=True, capture_output=True)
    with tarfile.open(out / "generated.tar") as tar:
        assert sorted(tar.getnames()) == ["odd [x]#.txt", "src/pkg/_version.py"]
    assert (out / "exclude").read_text().splitlines() == [
        "# generated by the environment's install: not part of a patch",
        "/odd\\ \\[x]\\#.txt",
        "/src/pkg/_version.py",
    ]
    git(work, "init", "-q")
    with (work / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write((out / "exclude").read_text())
    ignored = subprocess.run(
        ["git", "-C", str(work), "check-ignore", "--stdin"],
        input="odd [x]#.txt\nsrc/pkg/_version.py\nsrc/pkg/__init__.py\nodd x.txt\n",
        capture_output=True,
        text=True,
    )
    assert ignored.stdout.splitlines() == ["odd [x]#.txt", "src/pkg/_version.py"]


# --- what an editable build asks for, asked on the host ------------------------------------------
HATCH_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "hatched"
version = "1.0"
"""


@pytest.fixture(scope="session")
def sdist_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the real sdists are kept between sessions (pytest's cache directory, when it is on)."""
    cache = getattr(request.config, "cache", None)
    return Path(cache.mkdir("real-sdists")) if cache is not None else tmp_path_factory.mktemp("sdists")


def test_the_backend_says_what_an_editable_build_needs(tmp_path):
    wheelhouse = tmp_path / "wheelhouse"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--dest", str(wheelhouse), "hatchling"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    project = tmp_path / "hatched"
    (project / "hatched").mkdir(parents=True)
    (project / "pyproject.toml").write_text(HATCH_PYPROJECT)
    (project / "hatched" / "__init__.py").write_text("")
    assert editable_requires(project, ["hatchling"], wheelhouse, {}) == ["editables~=0.3"]


# --- real PyPI projects of each backend, built with no setup --------------------------------------
@pytest.fixture(scope="session")
def real_environments(sdist_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Every real project's repository and its environments at HEAD and the older commit, built
    three at a time. The images are kept: their keys are their content, so the next session finds them."""
    ensure_image(SANDBOX_IMAGE)
    root = tmp_path_factory.mktemp("real")
    config = load_config(env={"AGENT_HOME": str(root / "home")})
    environments = Environments(config.sandbox, config.environment)
    repos = {project.name: release_repo(project, sdist_cache, root) for project in REAL_PROJECTS}

    def prepare(job: tuple[str, int]) -> Prepared | Exception:
        name, which = job
        repo, *commits = repos[name]
        try:
            return environments.prepare(repo, commits[which])
        except Exception as exc:  # reported by the test of that project
            return exc

    jobs = [(project.name, which) for project in REAL_PROJECTS for which in (1, 0)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        prepared = dict(zip(jobs, pool.map(prepare, jobs), strict=True))
    yield {"config": config, "repos": repos, "prepared": prepared}


def test_each_real_sdist_uses_the_backend_it_is_listed_with(sdist_cache):
    import tomllib

    for project in REAL_PROJECTS:
        with tarfile.open(fetch_sdist(project.name, project.new, sdist_cache)) as archive:
            [member] = [
                m for m in archive.getmembers() if m.name.count("/") == 1 and m.name.endswith("/pyproject.toml")
            ]
            pyproject = tomllib.loads(archive.extractfile(member).read().decode())  # type: ignore[union-attr]
        assert pyproject["build-system"]["build-backend"] == project.backend, project.name


@needs_docker
@pytest.mark.parametrize("project", REAL_PROJECTS, ids=[project.name for project in REAL_PROJECTS])
def test_a_real_project_builds_with_no_setup_and_its_tests_pass_at_head_and_an_older_commit(
    real_environments, project: RealProject
):
    config = real_environments["config"]
    repo, older, newer = real_environments["repos"][project.name]
    for which, commit, version in ((1, newer, project.new), (0, older, project.old)):
        prepared = real_environments["prepared"][(project.name, which)]
        assert isinstance(prepared, Prepared), f"{project.name} {version}: {prepared}"
        assert prepared.key is not None and prepared.setup is None
        with make_sandbox(config.sandbox.model_copy(update={"image": prepared.image}), repo, commit, "t") as sandbox:
            result = sandbox.exec(project.test_cmd, timeout=600)
            assert result.exit_code == 0, f"{project.name} {version}:\n{result.output[-3000:]}"
            assert " passed" in result.output
            for name in project.generated:  # written by the install, there in the copy, in no diff
                assert sandbox.exec(f"test -s {name}").exit_code == 0, name
            assert sandbox.exec("git status --porcelain").output == ""
            assert sandbox.diff() == ""
            sandbox.exec("echo '# edited' >> README.md 2>/dev/null || echo x > README.md")
            assert sandbox.diff().count("diff --git") == 1


@needs_docker
def test_the_version_file_hatch_vcs_writes_has_the_version_of_each_commit(real_environments):
    config = real_environments["config"]
    repo, older, newer = real_environments["repos"]["prettytable"]
    for which, commit, version in ((1, newer, "3.17.0"), (0, older, "3.16.0")):
        prepared = real_environments["prepared"][("prettytable", which)]
        with make_sandbox(config.sandbox.model_copy(update={"image": prepared.image}), repo, commit, "t") as sandbox:
            shown = sandbox.exec(
                "python -c 'import json, prettytable, importlib.metadata as m; "
                'print(json.dumps([prettytable.__version__, m.version("prettytable"), prettytable.__file__]))\''
            )
            assert json.loads(shown.output) == [version, version, "/testbed/src/prettytable/__init__.py"]


@needs_docker
def test_python_slugify_builds_and_says_which_tox_lines_it_left_out(real_environments):
    prepared = real_environments["prepared"][("python-slugify", 1)]
    assert isinstance(prepared, Prepared)
    assert prepared.warnings == SLUGIFY_WARNINGS
    assert prepared.as_data()["text"].splitlines()[1:] == [f"warning: {line}" for line in prepared.warnings]
