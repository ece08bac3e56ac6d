"""Pieces for the environment tests: a hand-made wheel, repositories that depend on it, their tasks.

`write_wheel` writes a real (tiny) wheel with zipfile: `<name>-<version>.dist-info/METADATA`,
`WHEEL`, `RECORD` and the module. `offline_config` points `[environment] find_links` at the
directory holding it and `index_url` at an empty local index, so pip never asks a public index
for the made-up name.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import docker

from tests.repo_helpers import git, make_repo


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def commit_all(repo: Path, files: dict[str, str], message: str = "change") -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return head(repo)


TINYSLUG = '''"""Turn titles into URL slugs."""

import re


def slugify(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
'''

BUILD_TOOLS = ("setuptools>=64", "wheel", "pip")
"""What the host's pip puts in every wheelhouse besides the requirements (the editable install
builds with setuptools; pip itself is there for images without it)."""


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def write_wheel(dest: Path, name: str = "tinyslug", version: str = "1.0", source: str = TINYSLUG) -> Path:
    """A pure-Python wheel of one module `<name>.py` in `dest`; returns its path."""
    dest.mkdir(parents=True, exist_ok=True)
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": source.encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [_record_line(path, data) for path, data in files.items()] + [f"{info}/RECORD,,"]
    path = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


def download_build_tools(dest: Path) -> None:
    """setuptools, wheel and pip as wheels in `dest` (the host's pip, its index and its cache)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--dest", str(dest), *BUILD_TOOLS],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )


def offline_config(path: Path, wheels: Path, empty_index: Path, **environment: object) -> Path:
    """A user config file: packages only from `wheels` (find_links) and an empty local index."""
    empty_index.mkdir(parents=True, exist_ok=True)
    lines = [
        "[environment]",
        f"find_links = [{json.dumps(str(wheels))}]",
        f"index_url = {json.dumps(empty_index.as_uri())}",
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in environment.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


SLUG_ISSUE = (
    "# title_slug() keeps the spaces\n\n`title_slug('Hello World')` returns 'Hello World', not 'hello-world'.\n"
)
SLUG_BROKEN = {"old_str": "return title.strip()", "new_str": "return slugify(title)"}

SLUG_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "slugapp"
version = "0.1"
dependencies = ["tinyslug"]

[tool.setuptools]
packages = ["slugapp"]
"""

SLUG_FILES = {
    "pyproject.toml": SLUG_PYPROJECT,
    "slugapp/__init__.py": "",
    "slugapp/titles.py": (
        '"""Titles."""\n\nfrom tinyslug import slugify\n\n\ndef title_slug(title):\n    return title.strip()\n'
    ),
    "tests/__init__.py": "",
    "tests/test_base.py": "from tinyslug import slugify\n\n\ndef test_slugify():\n    assert slugify('A b') == 'a-b'\n",
}
"""A project that depends on `tinyslug` (pyproject `[project] dependencies`); `title_slug` is wrong."""

FIXED_TITLES = SLUG_FILES["slugapp/titles.py"].replace("return title.strip()", "return slugify(title)")
TITLE_TEST = (
    "from slugapp.titles import title_slug\n\n\n"
    "def test_title_slug():\n    assert title_slug('Hello World') == 'hello-world'\n"
)


def make_slug_repo(root: Path, files: dict[str, str] | None = None) -> Path:
    """The slug project (with `files` added or replaced), committed on `main`."""
    return make_repo(root, {**SLUG_FILES, **(files or {})})


def _staged_diff(repo: Path) -> str:
    git(repo, "add", "-A")
    diff = git(repo, "diff", "--cached")
    git(repo, "reset", "-q", "--hard")
    return diff


def slug_task(repo: Path, instance_id: str = "slug__title", **fields: object) -> dict[str, object]:
    """A SWE-bench-style task of the slug repository at HEAD: the gold fix and a test for it."""
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "slugapp/titles.py").write_text(FIXED_TITLES)
    patch = _staged_diff(repo)
    (repo / "tests/test_titles.py").write_text(TITLE_TEST)
    test_patch = _staged_diff(repo)
    return {
        "instance_id": instance_id,
        "repo": "local/slugapp",
        "base_commit": base,
        "problem_statement": SLUG_ISSUE,
        "patch": patch,
        "test_patch": test_patch,
        "FAIL_TO_PASS": ["tests/test_titles.py::test_title_slug"],
        "PASS_TO_PASS": ["tests/test_base.py::test_slugify"],
        "repo_path": str(repo),
        "test_cmd": "python -m pytest -q",
        "task_type": "bug_fix",
        **fields,
    }


def write_tasks(path: Path, *tasks: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(task) + "\n" for task in tasks))
    return path


# --- files for detection -----------------------------------------------------------------------
PYPROJECT_WITH_EXTRAS = """\
[project]
name = "p"
version = "1"
dependencies = ["requests>=2", "attrs"]

[project.optional-dependencies]
test = ["pytest-mock"]
docs = ["sphinx"]
"""

PYPROJECT_DYNAMIC = """\
[build-system]
requires = ["setuptools>=61", "setuptools-scm"]
build-backend = "setuptools.build_meta"

[project]
name = "p"
version = "1"
dynamic = ["dependencies"]

[tool.setuptools.dynamic]
dependencies = {file = ["deps.in"]}
"""

SETUP_CFG = """\
[metadata]
name = p

[options]
packages = find:
install_requires =
    requests
    # a comment
    attrs>=1

[options.extras_require]
testing = pytest-cov
docs = sphinx
"""

TOX_INI = """\
[tox]
envlist = py311

[testenv]
deps =
    pytest
    mock>=4
    -rother.txt
    {env:EXTRA:}
commands = pytest {posargs}
"""


# --- Docker ------------------------------------------------------------------------------------
def image_text(tag: str) -> str:
    """Everything `docker image inspect` and `docker history` say about `tag`."""
    client = docker.from_env()
    try:
        image = client.images.get(tag)
        return json.dumps(image.attrs) + json.dumps(image.history())
    finally:
        client.close()


def image_id(tag: str) -> str:
    client = docker.from_env()
    try:
        return str(client.images.get(tag).id)
    finally:
        client.close()


def image_with_wheel(base: str, wheel: Path, tag: str) -> str:
    """Build `tag` FROM `base` with `wheel` pip-installed (no network, no index); returns its id."""
    dockerfile = (
        f"FROM {base}\nCOPY {wheel.name} /tmp/\n"
        f"RUN pip install --break-system-packages --no-index /tmp/{wheel.name} && rm /tmp/{wheel.name}\n"
    ).encode()
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
        tar.add(wheel, arcname=wheel.name)
    context.seek(0)
    client = docker.from_env()
    try:
        image, _logs = client.images.build(fileobj=context, custom_context=True, tag=tag, network_mode="none", rm=True)
        return str(image.id)
    finally:
        client.close()


def remove_images(*tags: str) -> None:
    client = docker.from_env()
    try:
        for tag in tags:
            with contextlib.suppress(docker.errors.ImageNotFound):
                client.images.remove(tag, force=True)
    finally:
        client.close()
