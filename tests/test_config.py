"""Configuration layers: defaults < user file < project agent.toml < AGENT_* env < flags."""

from decimal import Decimal

import pytest

from agent.core.config import load_config
from agent.core.effort import EffortLevel
from agent.core.errors import ConfigError


def test_shipped_harness_budgets_per_effort(tmp_path):
    config = load_config(env={"AGENT_HOME": str(tmp_path)})
    assert {level.value: budget.max_turns for level, budget in config.efforts.items()} == {
        "low": 15,
        "medium": 30,
        "high": 50,
        "xhigh": 75,
        "max": 100,
    }
    assert config.ledger_path == tmp_path / "ledger.sqlite"
    assert config.review.minutes_per_attempt == 10.0 and config.review.hourly_rate_usd == Decimal(100)


def test_layers_override_in_order(tmp_path):
    user = tmp_path / "user.toml"
    user.write_text('[sandbox]\nimage = "from-user"\nmem_limit = "1g"\n[review]\nhourly_rate_usd = 80\n')
    project = tmp_path / "proj"
    project.mkdir()
    (project / "agent.toml").write_text(
        '[sandbox]\nimage = "from-project"\n[efforts.high]\nmax_turns = 7\nmax_tokens = 9\n'
    )
    env = {"AGENT_HOME": str(tmp_path), "AGENT_CONFIG": str(user), "AGENT_HOURLY_RATE": "120"}
    config = load_config(project_dir=project, env=env, overrides={"sandbox.image": None})
    assert (config.sandbox.image, config.sandbox.mem_limit) == ("from-project", "1g")
    assert config.review.hourly_rate_usd == Decimal(120)
    assert config.efforts[EffortLevel.HIGH].max_turns == 7
    flagged = load_config(project_dir=project, env=env, overrides={"sandbox.image": "from-flag"})
    assert flagged.sandbox.image == "from-flag"
    assert config.sources == ["defaults", str(user), str(project / "agent.toml"), "AGENT_HOME", "AGENT_HOURLY_RATE"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sandbox\n", "not valid TOML"),
        ('[sandbox]\nkind = "vm"\n', "bad configuration at sandbox.kind"),
        ("[efforts.low]\nmax_turns = 0\nmax_tokens = 1\n", "bad configuration at efforts.low.max_turns"),
    ],
)
def test_bad_config_files_say_where(tmp_path, text, message):
    (tmp_path / "agent.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(project_dir=tmp_path, env={"AGENT_HOME": str(tmp_path)})
