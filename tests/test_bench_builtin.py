"""The whole built-in suite through `agent bench`: the oracle resolves every task, null resolves none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.loaders import load_tasks
from tests.cli_helpers import run_agent


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize(("model", "resolves_all"), [("oracle", True), ("null", False)])
def test_builtin_suite_with_validation_models(tmp_path, model, resolves_all):
    done = run_agent(tmp_path, "bench", "builtin", "--model", model, "--workers", "2", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    ids = sorted(task.instance_id for task in load_tasks("builtin", tmp_path / "agent-home"))
    assert result["instances"] == len(ids) >= 30
    assert result["error_ids"] == []
    if resolves_all:
        assert (result["resolved"], sorted(result["resolved_ids"])) == (len(ids), ids)
    else:
        assert (result["resolved"], sorted(result["unresolved_ids"])) == (0, ids)
    predictions = [json.loads(line) for line in Path(result["predictions_path"]).read_text().splitlines()]
    assert sorted(row["instance_id"] for row in predictions) == ids
    assert all(bool(row["model_patch"].strip()) is resolves_all for row in predictions)
