"""`agent tasks mine` on a real project's real history, and on histories whose tests the environment
cannot run, in real Docker sandboxes.

python-slugify's released sdists (from the package index) become its history, one commit per
release with the release's changelog entry as its message. Its tests are a root `test.py`, which
the default pytest names do not match. The environment cases: a test importing a module nobody
declared (module not found before and with the change, then kept once --setup installs it), and a
test file no Python 3 can collect (collection errors on both sides).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.models import Task
from tests.cli_helpers import run_agent
from tests.mining_helpers import commit, release_history
from tests.repo_helpers import git

pytestmark = pytest.mark.docker

VERSIONS = ("4.0.0", "4.0.1", "6.0.1", "6.1.0")


@pytest.fixture(scope="module")
def slugify_history(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> tuple[Path, dict]:
    """python-slugify 4.0.0, 4.0.1, 6.0.1 and 6.1.0 as four commits (the sdists cached across sessions)."""
    cache = (
        Path(pytestconfig.cache.mkdir("python-slugify-sdists")) if pytestconfig.cache else tmp_path_factory.mktemp("c")
    )
    repo = tmp_path_factory.mktemp("history") / "python-slugify"
    return repo, release_history("python-slugify", VERSIONS, cache, repo)


def mined_tasks(path: Path) -> list[Task]:
    return [Task.model_validate_json(line) for line in path.read_text().splitlines()]


def test_a_real_history_with_a_root_test_py_is_mined(tmp_path, slugify_history):
    repo, shas = slugify_history
    out = tmp_path / "mined.jsonl"
    done = run_agent(tmp_path, "tasks", "mine", str(repo), "--out", str(out), "--json")
    assert done.code == 0, done.stderr
    summary = json.loads(done.stdout)
    assert {key: summary[key] for key in ("kept", "skipped", "causes", "commits", "candidates")} == {
        "kept": 2,
        "skipped": {"does_not_apply": 0, "environment_error": 0, "tests_cannot_run": 0, "no_fail_to_pass": 1},
        "causes": {"no_fail_to_pass": 1},
        "commits": 4,
        "candidates": 3,
    }
    unicode, typed = mined_tasks(out)
    assert (unicode.base_commit, typed.base_commit) == (shas["6.0.1"], shas["4.0.0"])
    assert (
        unicode.problem_statement
        == "Release 6.1.0\n\n- Add `allow_unicode` flag to allow unicode characters in the slug"
    )
    assert (unicode.task_type, unicode.test_cmd, unicode.setup) == ("feature", "python -m pytest -q", None)
    classes = [
        sorted({name.split("::")[1] for name in names}) for names in (unicode.FAIL_TO_PASS, unicode.PASS_TO_PASS)
    ]
    assert classes == [["TestSlugifyUnicode"], ["TestCommandParams", "TestSlugify", "TestUtils"]]
    assert (len(unicode.FAIL_TO_PASS), len(unicode.PASS_TO_PASS)) == (35, 46)
    assert "test.py::TestSlugifyUnicode::test_accented_text" in unicode.FAIL_TO_PASS
    # 4.0.1's test.py imports the command line module it adds: before it, no test of the file runs
    assert (len(typed.FAIL_TO_PASS), typed.PASS_TO_PASS) == (46, [])
    assert "test.py::TestCommandParams::test_defaults" in typed.FAIL_TO_PASS
    assert "diff --git a/test.py" in unicode.test_patch and "diff --git a/test.py" not in unicode.patch
    progress = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert [line.split(" -> ")[1] for line in progress] == [
        "kept (35 FAIL_TO_PASS, feature)",
        "skipped: no FAIL_TO_PASS test (no test goes from failing to passing)",
        "kept (46 FAIL_TO_PASS, feature)",
    ]


def test_max_tasks_stops_once_that_many_are_kept(tmp_path, slugify_history):
    repo, shas = slugify_history
    done = run_agent(
        tmp_path, "tasks", "mine", str(repo), "--max-tasks", "1", "--out", str(tmp_path / "m.jsonl"), "--json"
    )
    assert done.code == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["kept"], summary["candidates"], summary["tasks"]) == (
        1,
        1,
        [f"python-slugify__{shas['6.1.0'][:10]}"],
    )


UNIDECODE_TEST = "from text_unidecode import unidecode\n\nfrom slug import slug\n\n\ndef test_ascii():\n"
UNIDECODE_TEST += "    assert slug(unidecode('Héllo')) == 'hello'\n"


def _repo(tmp_path: Path, before: dict[str, str], after: dict[str, str]) -> tuple[Path, str, str]:
    repo = tmp_path / "slug"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    return repo, commit(repo, "initial", before, 1), commit(repo, "Lower the slug", after, 2)


def mine_skipped(tmp_path: Path, repo: Path) -> tuple[dict, dict, list[str]]:
    """Mine `repo`'s one candidate, which must be skipped: the summary, the skip and the progress lines."""
    done = run_agent(tmp_path, "tasks", "mine", str(repo), "--out", str(tmp_path / "none.jsonl"), "--json")
    assert done.code == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["kept"], summary["skipped"]["environment_error"]) == (0, 1)
    [skip] = summary["skipped_commits"]
    return summary, skip, [line for line in done.stderr.splitlines() if line.startswith("[")]


def test_a_module_nobody_declared_is_the_environments_problem_until_setup_installs_it(tmp_path):
    repo, _, fix = _repo(
        tmp_path,
        {"slug.py": "def slug(text):\n    return text\n"},
        {"slug.py": "def slug(text):\n    return text.lower()\n", "test_slug.py": UNIDECODE_TEST},
    )
    summary, skip, progress = mine_skipped(tmp_path, repo)
    assert summary["causes"] == {"module_not_found": 1}
    assert skip["detail"].startswith("before and with the change: ")
    assert "text_unidecode" in skip["detail"]
    assert progress == [f"[1] {fix[:10]} Lower the slug -> skipped: environment (module not found in test_slug.py)"]

    out = tmp_path / "mined.jsonl"
    setup = "pip install text-unidecode"
    done = run_agent(tmp_path, "tasks", "mine", str(repo), "--setup", setup, "--out", str(out), "--json")
    assert done.code == 0, done.stderr
    [task] = mined_tasks(out)
    assert (task.FAIL_TO_PASS, task.setup, task.image) == (["test_slug.py::test_ascii"], setup, None)

    image = ["--image", "agent-sandbox:latest"]  # the setup runs on the image given, which the tasks record
    done = run_agent(tmp_path, "tasks", "mine", str(repo), "--setup", setup, *image, "--out", str(out), "--json")
    assert done.code == 0, done.stderr
    [task] = mined_tasks(out)
    assert (task.FAIL_TO_PASS, task.setup, task.image) == (["test_slug.py::test_ascii"], setup, "agent-sandbox:latest")


PY2_TEST = "from slug import slug\n\n\ndef test_lower():\n    print 'checking'\n    assert slug('A') == 'a'\n"


def test_a_test_file_no_side_can_collect_is_the_environments_problem(tmp_path):
    repo, _, fix = _repo(
        tmp_path,
        {"slug.py": "def slug(text):\n    return text\n", "tests.py": PY2_TEST},
        {"slug.py": "def slug(text):\n    return text.lower()\n", "tests.py": PY2_TEST + "# lower\n"},
    )
    summary, skip, progress = mine_skipped(tmp_path, repo)
    assert summary["causes"] == {"collection_errors": 1}
    assert skip["detail"].startswith("before and with the change: pytest cannot collect any test file: tests.py (")
    assert progress == [f"[1] {fix[:10]} Lower the slug -> skipped: environment (collection errors in tests.py)"]
