"""Judges tests/test_layers.py: they must pass on the real code and fail on each broken copy of it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGET = "tests/test_layers.py"
MUTANTS = {'earlier_wins': ('inicfg/layers.py',
                  'merged.setdefault(section, {}).update(values)',
                  'merged.setdefault(section, {}).update({k: v for k, v in values.items() if k not '
                  'in merged[section]})'),
 'mutates_input': ('inicfg/layers.py',
                   'merged.setdefault(section, {}).update(values)',
                   'merged.setdefault(section, values).update(values)'),
 'shallow': ('inicfg/layers.py',
             'merged.setdefault(section, {}).update(values)',
             'merged[section] = dict(values)'),
 'two_layers_only': ('inicfg/layers.py', 'for layer in layers:', 'for layer in layers[:2]:')}


def run_suite(tmp_path, mutant=None):
    shutil.copytree(ROOT / "inicfg", tmp_path / "inicfg")
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
