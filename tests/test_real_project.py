"""A real PyPI project end to end: python-slugify, whose code imports the text-unidecode it declares.

Its released source (from the package index) becomes a git history: an import with a bug (mixed-
case stopwords are not removed) and the fix with its test. With no setup given, the runner must
provision the environment (setup.py is read by the host's pip; the wheelhouse is built offline into
an image): `agent fix` solves the bug with a scripted model, `agent tasks mine` turns the fix
commit into a task that the oracle resolves and null does not, and without the environment the
baseline says so instead of billing a model.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.cli_helpers import run_agent
from tests.repo_helpers import git

pytestmark = pytest.mark.docker

RELEASE = "python-slugify==8.0.4"
BUGGY = "stopwords_lower = list(stopwords)"
FIXED = "stopwords_lower = [s.lower() for s in stopwords]"
TESTS = """\
from slugify import slugify


def test_transliterates():
    assert slugify("Héllo Wörld") == "hello-world"


def test_separator():
    assert slugify("one two", separator="_") == "one_two"


def test_max_length():
    assert slugify("one two three", max_length=7) == "one-two"


def test_lowercase_stopwords():
    assert slugify("the quick fox", stopwords=["the"]) == "quick-fox"
"""
NEW_TEST = """

def test_mixed_case_stopwords():
    assert slugify("The Quick fox", stopwords=["The", "QUICK"]) == "fox"
"""
ISSUE = "# Stopwords with capitals are kept\n\n`slugify('The Quick fox', stopwords=['The', 'QUICK'])` keeps them.\n"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The released source tree of python-slugify, downloaded once from the package index."""
    where = tmp_path_factory.mktemp("sdist")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "-q", "-d", str(where), RELEASE],
        check=True,
        capture_output=True,
    )
    archive = next(where.glob("*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(where, filter="data")
    return next(path for path in where.iterdir() if path.is_dir())


def make_history(release: Path, repo: Path) -> tuple[str, str]:
    """A repository: the release with the bug (base), then the fix with its test. Their SHAs."""
    subprocess.run(["cp", "-r", f"{release}/.", str(repo)], check=True)
    subprocess.run(["rm", "-rf", str(next(repo.glob("*.egg-info")))], check=True)
    source = repo / "slugify" / "slugify.py"
    source.write_text(source.read_text().replace(FIXED, BUGGY))
    (repo / "tests").mkdir()
    (repo / "tests" / "test_slugify.py").write_text(TESTS)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Import python-slugify 8.0.4")
    base = git(repo, "rev-parse", "HEAD").strip()
    source.write_text(source.read_text().replace(BUGGY, FIXED))
    (repo / "tests" / "test_slugify.py").write_text(TESTS + NEW_TEST)
    git(repo, "commit", "-qam", "Remove stopwords whatever their case\n\nStopwords were compared before lowering them.")
    return base, git(repo, "rev-parse", "HEAD").strip()


def test_a_real_project_is_fixed_mined_and_judged_with_no_setup_given(
    tmp_path: Path, release: Path, make_fake, fake_env
) -> None:
    repo = tmp_path / "python-slugify"
    repo.mkdir()
    base, fix = make_history(release, repo)

    mined = tmp_path / "mined.jsonl"
    done = run_agent(tmp_path, "tasks", "mine", str(repo), "--out", str(mined), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["kept"] == 1, summary
    task = json.loads(mined.read_text().splitlines()[0])
    assert task["base_commit"] == base and task["instance_id"] == f"python-slugify__{fix[:10]}"
    assert task["FAIL_TO_PASS"] == ["tests/test_slugify.py::test_mixed_case_stopwords"]
    assert sorted(task["PASS_TO_PASS"]) == [
        "tests/test_slugify.py::test_lowercase_stopwords",
        "tests/test_slugify.py::test_max_length",
        "tests/test_slugify.py::test_separator",
        "tests/test_slugify.py::test_transliterates",
    ]

    for model, resolved in (("oracle", ["python-slugify__" + fix[:10]]), ("null", [])):
        done = run_agent(tmp_path, "bench", str(mined), "--model", model, "--json")
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert (result["resolved_ids"], result["error_ids"]) == (resolved, []), (model, result)

    git(repo, "checkout", "-q", base)
    issue = tmp_path / "issue.md"
    issue.write_text(ISSUE)
    script = {
        "rules": [
            {
                "turns": [
                    {
                        "text": "Plan: lower the stopwords before comparing; run the tests.",
                        "tool_calls": [
                            {
                                "name": "str_replace_based_edit_tool",
                                "input": {"command": "view", "path": "slugify/slugify.py"},
                            }
                        ],
                    },
                    {
                        "text": "Every test passes, so first a test that reproduces the issue.",
                        "tool_calls": [
                            {
                                "name": "str_replace_based_edit_tool",
                                "input": {
                                    "command": "create",
                                    "path": "tests/test_stopwords_case.py",
                                    "file_text": "from slugify import slugify\n" + NEW_TEST,
                                },
                            }
                        ],
                    },
                    {
                        "text": "Editing.",
                        "tool_calls": [
                            {
                                "name": "str_replace_based_edit_tool",
                                "input": {
                                    "command": "str_replace",
                                    "path": "slugify/slugify.py",
                                    "old_str": BUGGY,
                                    "new_str": FIXED,
                                },
                            }
                        ],
                    },
                    {"text": "Fixed."},
                ]
            }
        ]
    }
    fake = make_fake(script)
    args = ["fix", str(issue), "--repo", str(repo), "--model", "claude-opus-4-7", "--effort", "medium", "--json"]
    done = run_agent(tmp_path, *args, env=fake_env(fake))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["solved"], result
    assert result["attempts"][0]["verdict"]["why"] == (
        "1 new test(s) fail on the base code and pass with the fix: "
        "tests/test_stopwords_case.py::test_mixed_case_stopwords"
    )
    assert FIXED in git(repo, "show", f"{result['branch']}:slugify/slugify.py")
    assert "test_mixed_case_stopwords" in git(repo, "show", f"{result['branch']}:tests/test_stopwords_case.py")


def test_without_its_environment_the_baseline_says_so_before_any_model_call(
    tmp_path: Path, release: Path, make_fake, fake_env
) -> None:
    repo = tmp_path / "python-slugify"
    repo.mkdir()
    base, _fix = make_history(release, repo)
    git(repo, "checkout", "-q", base)
    (repo / "agent.toml").write_text("[environment]\ndetect = false\n")  # read from the working tree by `fix`
    issue = tmp_path / "issue.md"
    issue.write_text(ISSUE)
    fake = make_fake({"rules": [{"turns": [{"text": "Fixed."}]}]})
    args = ["fix", str(issue), "--repo", str(repo), "--model", "claude-opus-4-7", "--json"]
    done = run_agent(tmp_path, *args, env=fake_env(fake))
    assert done.returncode == 2, done.stdout
    assert "cannot import 'text_unidecode'" in done.stderr and "no model was called" in done.stderr
    assert "Traceback" not in done.stderr
    result = json.loads(done.stdout)
    assert result["attempts"] == [] and result["review_minutes"] == 0
    assert fake.requests == []
