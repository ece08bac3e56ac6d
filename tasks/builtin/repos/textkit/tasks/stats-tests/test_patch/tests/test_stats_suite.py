"""Judges tests/test_stats.py: they must pass on the real code and fail on each broken copy of it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGET = "tests/test_stats.py"
MUTANTS = {'case_sensitive': ('textkit/stats.py', '_WORD.findall(text.lower())', '_WORD.findall(text)'),
 'least_frequent_first': ('textkit/stats.py',
                          'key=lambda item: (-item[1], item[0])',
                          'key=lambda item: (item[1], item[0])'),
 'off_by_one': ('textkit/stats.py', '[:n]', '[: n + 1]'),
 'punctuation_counted': ('textkit/stats.py',
                         're.compile(r"[a-z0-9\']+")',
                         're.compile(r"[^\\s]+")'),
 'ties_unsorted': ('textkit/stats.py',
                   'key=lambda item: (-item[1], item[0])',
                   'key=lambda item: -item[1]')}


def run_suite(tmp_path, mutant=None):
    shutil.copytree(ROOT / "textkit", tmp_path / "textkit")
    (tmp_path / "tests").mkdir()
    shutil.copyfile(ROOT / TARGET, tmp_path / TARGET)
    if mutant is not None:
        path, old, new = MUTANTS[mutant]
        source = (tmp_path / path).read_text()
        assert source.count(old) == 1, f"mutant {mutant} no longer matches {path}"
        (tmp_path / path).write_text(source.replace(old, new))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TARGET],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_tests_exist_and_pass_on_correct_code(tmp_path):
    assert (ROOT / TARGET).is_file(), f"{TARGET} is missing"
    done = run_suite(tmp_path)
    assert done.returncode == 0, done.stdout[-2000:]


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_tests_catch_mutant(tmp_path, mutant):
    assert (ROOT / TARGET).is_file(), f"{TARGET} is missing"
    done = run_suite(tmp_path, mutant)
    assert done.returncode == 1, f"the tests did not catch mutant {mutant}:\n{done.stdout[-2000:]}"
