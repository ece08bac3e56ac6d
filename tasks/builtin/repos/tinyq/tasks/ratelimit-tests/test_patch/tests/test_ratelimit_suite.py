"""Judges tests/test_ratelimit.py: they must pass on the real code and fail on each broken copy of it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGET = "tests/test_ratelimit.py"
MUTANTS = {'accepts_zero_rate': ('tinyq/ratelimit.py',
                       'if rate <= 0 or capacity <= 0:',
                       'if rate < 0 or capacity < 0:'),
 'double_rate': ('tinyq/ratelimit.py',
                 '(now - self.updated) * self.rate)',
                 '(now - self.updated) * self.rate * 2)'),
 'no_cap': ('tinyq/ratelimit.py',
            'min(self.capacity, self.tokens + (now - self.updated) * self.rate)',
            'self.tokens + (now - self.updated) * self.rate'),
 'refusal_takes_tokens': ('tinyq/ratelimit.py',
                          '            return True\n        return False',
                          '            return True\n        self.tokens = 0\n        return False'),
 'starts_empty': ('tinyq/ratelimit.py', 'self.tokens = capacity', 'self.tokens = 0')}


def run_suite(tmp_path, mutant=None):
    shutil.copytree(ROOT / "tinyq", tmp_path / "tinyq")
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
