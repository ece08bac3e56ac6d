"""`agent stats` and the router's sections of `agent report`: real SQLite ledgers written row by row
(attempts, calls with their validation and turn latency, fallbacks), read back to exact numbers."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text

from agent.cli.stats import select_runs
from agent.core.config import AgentConfig
from agent.core.errors import ConfigError
from agent.core.events import Event
from agent.core.messages import Usage
from agent.ledger import CallRecord, Fallback, Ledger
from agent.reporting.html import spend_plot
from agent.reporting.render import EventPrinter
from agent.reporting.results import fix_result
from agent.reporting.stats import build_stats, percentiles, read_facts, stats_tables
from tests.cli_helpers import run_agent

JAN_1 = datetime(2026, 1, 1, 10, tzinfo=UTC).timestamp()
DAY = 86_400.0


def at(day: str, hour: int = 10) -> float:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC).timestamp()


def call(
    model: str,
    cost: str | None = "0.01",
    *,
    turn: int = 1,
    seconds: float = 1.0,
    validation: str | None = None,
    turn_s: float | None = None,
    status: str = "ok",
    reserved: str | None = None,
) -> CallRecord:
    return CallRecord(
        turn=turn,
        model=model,
        effort_sent="low",
        usage=Usage(input_tokens=100, output_tokens=10),
        cost_usd=None if cost is None else Decimal(cost),
        price_source=None if cost is None else "test",
        duration_s=seconds,
        status=status,
        error_kind="timeout" if status == "failed" else None,
        reserved_usd=None if reserved is None else Decimal(reserved),
        validation=validation,
        turn_s=turn_s,
    )


def hop(reason: str = "bad_json", turn: int = 2, to: str = "opus") -> Fallback:
    return Fallback(
        turn=turn, from_model="flash", from_effort="low", to_model=to, to_effort="high", reason=reason, detail="d"
    )


class Book:
    """A ledger with one run; issues and attempts added with the rows a run would write."""

    def __init__(self, path: Path, run_id: str = "r1") -> None:
        self.path = path
        self.ledger = Ledger(path)
        self.run_id = self.ledger.create_run("bench", {}, Decimal(60), run_id=run_id)

    def issue(self, task_type: str = "bug_fix", started: float = JAN_1) -> int:
        issue_id = self.ledger.add_issue(
            self.run_id, key=f"k{task_type}", title="t", task_type=task_type, task_type_reason="r",
            decided_by="rules", repo="/r", base_commit="abc", test_cmd="pytest", ladder="flash@low",
        )  # fmt: skip
        with sqlite3.connect(self.path) as db:
            db.execute("UPDATE issues SET started_at = ? WHERE id = ?", (started, issue_id))
        return issue_id

    def attempt(
        self,
        issue_id: int,
        model: str = "flash",
        *,
        fallbacks: tuple[Fallback, ...] = (),
        calls: tuple[CallRecord, ...] = (),
        finished: bool = True,
        started: float = JAN_1,
    ) -> int:
        attempt_id = self.ledger.start_attempt(
            issue_id, self.run_id, rung_index=0, model=model, provider="p", effort_asked="low", effort_sent="low",
            max_turns=5,
        )  # fmt: skip
        self.ledger.update_attempt(attempt_id, started_at=started)
        for record in calls:
            self.ledger.record_call(attempt_id, record)
        with sqlite3.connect(self.path) as db:  # the calls were sent while the attempt ran
            db.execute("UPDATE calls SET created_at = ? WHERE attempt_id = ?", (started + 60, attempt_id))
        for fallback in fallbacks:
            self.ledger.record_fallback(attempt_id, fallback)
        if finished:
            self.ledger.finish_attempt(attempt_id, "finished", False, patch="")
        return attempt_id

    def stats(self, config: AgentConfig) -> dict[str, Any]:
        return build_stats(read_facts(self.ledger, [self.run_id]), config)


def rates_book(path: Path) -> Book:
    """bug_fix: flash falls back in 3 of 6 finished attempts (4 switches), opus once without;
    syntax_fix: flash and opus 5 each, none falls back; docs: flash 1 of 2. A running attempt
    that fell back does not count."""
    book = Book(path)
    bug, syntax, docs = book.issue("bug_fix"), book.issue("syntax_fix"), book.issue("docs")
    for fallbacks in ((hop(),), (hop(), hop("rate_limit", 4)), (hop("schema"),), (), (), ()):
        book.attempt(bug, "flash", fallbacks=fallbacks)
    book.attempt(bug, "opus")
    book.attempt(bug, "flash", fallbacks=(hop(),), finished=False)
    for model in ("flash", "opus"):
        for _ in range(5):
            book.attempt(syntax, model)
    book.attempt(docs, "flash", fallbacks=(hop("empty"),))
    book.attempt(docs, "flash")
    return book


WRONG = "flash is the wrong primary for bug_fix: 3 of 6 finished attempts fell back (50%, above 30%)"
CHEAP = "syntax_fix could route more to the cheap model flash: 0 of 5 finished attempts fell back (0%, below 5%)"


def test_fallback_rate_per_task_type_and_per_primary_model_counts_finished_attempts(tmp_path, make_config):
    rates = rates_book(tmp_path / "ledger.sqlite").stats(make_config())["fallback_rate"]
    assert [(r["task_type"], r["attempts"], r["with_fallback"], r["fallback_rate"]) for r in rates["by_task_type"]] == [
        ("bug_fix", 7, 3, 0.4286),
        ("docs", 2, 1, 0.5),
        ("syntax_fix", 10, 0, 0.0),
    ]
    assert [(r["model"], r["attempts"], r["with_fallback"], r["fallback_rate"]) for r in rates["by_model"]] == [
        ("flash", 13, 4, 0.3077),
        ("opus", 6, 0, 0.0),
    ]
    bug_fix = rates["by_task_type"][0]
    assert (bug_fix["fallbacks"], bug_fix["reasons"]) == (4, {"bad_json": 2, "rate_limit": 1, "schema": 1})
    assert rates["thin_cells"] == 2  # bug_fix on opus (1 attempt), docs on flash (2)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, [WRONG, CHEAP]),
        ({"router__advise_above": 0.6, "router__advise_below": 0.0}, []),  # 50 % is no longer above; nothing below 0
        ({"router__advise_above": 0.5}, [CHEAP]),  # the bands are strict: 50 % is not above 50 %
        (  # a planner-wide fallback: opus can fall back too, so its 0 % says it could take more syntax_fix
            {"planner__fallback": "big@max"},
            [
                WRONG,
                CHEAP,
                CHEAP.replace("model flash", "model opus"),
            ],
        ),
    ],
)
def test_advice_lines_follow_the_configured_bands(tmp_path, make_config, overrides, expected):
    stats = rates_book(tmp_path / "ledger.sqlite").stats(make_config(**overrides))
    assert [line["text"] for line in stats["fallback_rate"]["advice"]] == expected


def spend_book(path: Path) -> Book:
    book = Book(path)
    issue = book.issue("bug_fix", started=at("2026-01-01", 9))
    book.ledger.record_issue_call(issue, call("haiku", "0.001"), "classify")
    with sqlite3.connect(book.path) as db:  # the classifier's call, sent as the issue started
        db.execute("UPDATE calls SET created_at = ? WHERE attempt_id IS NULL", (at("2026-01-01", 9),))
    book.attempt(issue, "flash", calls=(call("flash", "0.01"), call("flash", "0.02"), call("opus", "0.5", turn=2)))
    jan_2 = at("2026-01-02", 23)
    pending = call("opus", None, turn=2, status="pending", reserved="0.25")
    book.attempt(issue, "flash", calls=(call("flash", None), call("flash", "0.03"), pending), started=jan_2)
    book.attempt(issue, "house", calls=(call("house", None),), started=jan_2)
    return book


def test_spend_per_model_per_utc_day_counts_unsettled_calls_at_their_worst_case_and_unpriced_apart(
    tmp_path, make_config
):
    stats = spend_book(tmp_path / "ledger.sqlite").stats(make_config())
    rows = [
        (r["day"], r["model"], r["calls"], r["api_cost_usd"], r["unpriced_calls"], r["unsettled_calls"])
        for r in stats["spend"]["by_day"]
    ]
    assert rows == [
        ("2026-01-01", "flash", 2, 0.03, 0, 0),
        ("2026-01-01", "haiku", 1, 0.001, 0, 0),  # the classifier's call, on its issue's day
        ("2026-01-01", "opus", 1, 0.5, 0, 0),  # the fallback's call: the model that served it
        ("2026-01-02", "flash", 2, 0.03, 1, 0),
        ("2026-01-02", "house", 1, None, 1, 0),  # every call unpriced: unpriced, not $0
        ("2026-01-02", "opus", 1, 0.25, 0, 1),  # never settled: its reserved worst case
    ]
    table = next(table for table in stats_tables(stats) if table.title == "API $ per model per day")
    assert [column.header for column in table.columns] == ["day (UTC)", "flash", "haiku", "house", "opus", "total"]
    assert table.rows == [
        ["2026-01-01", "$0.0300", "$0.0010", "-", "$0.5000", "$0.5310"],
        ["2026-01-02", "$0.0300 +1 unpriced", "-", "unpriced", "$0.2500", "$0.2800 +2 unpriced"],
        ["total", "$0.0600 +1 unpriced", "$0.0010", "unpriced", "$0.7500", "$0.8110 +2 unpriced"],
    ]


def test_the_spend_chart_stacks_each_days_priced_dollars_by_model_and_names_the_unpriced(tmp_path, make_config):
    plot = spend_plot(spend_book(tmp_path / "ledger.sqlite").stats(make_config()))
    assert plot.figure is not None
    axes = plot.figure.axes[0]
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["flash", "haiku", "opus"]
    bars = [(round(bar.get_y(), 6), round(bar.get_height(), 6)) for bar in axes.patches]
    assert bars == [
        (0.0, 0.03), (0.0, 0.03),  # flash on each day
        (0.03, 0.001), (0.03, 0.0),  # haiku on top of it
        (0.031, 0.5), (0.03, 0.25),  # opus on top: $0.531 and $0.28 a day
    ]  # fmt: skip
    assert [tick.get_text() for tick in axes.get_xticklabels()] == ["2026-01-01", "2026-01-02"]
    assert plot.notes == ["not drawn, no price: calls of flash on 2026-01-02 (1), house on 2026-01-02 (1)"]


def router_book(path: Path) -> Book:
    """One flash attempt: a timed-out request, then a valid reply (turn 1); two bad_json replies, the
    fallback to opus and its valid reply (turn 2); an opus reply (turn 3). And an opus attempt with
    an unknown tool, a reason outside the usual five, and a call still in flight."""
    book = Book(path)
    issue = book.issue()
    book.ledger.record_issue_call(issue, call("haiku", "0.001", seconds=0.5), "classify")
    book.attempt(
        issue,
        "flash",
        fallbacks=(hop(turn=2),),
        calls=(
            call("flash", "0", seconds=10.0, status="failed"),
            call("flash", seconds=1.0, turn_s=11.5),
            call("flash", seconds=2.0, turn=2, validation="bad_json"),
            call("flash", seconds=3.0, turn=2, validation="bad_json"),
            call("opus", seconds=4.0, turn=2, turn_s=9.5),
            call("opus", seconds=5.0, turn=3, turn_s=5.0),
        ),
    )
    book.attempt(
        issue,
        "opus",
        calls=(
            call("opus", seconds=6.0, validation="unknown_tool"),
            call("opus", seconds=7.0, validation="weird"),
            call("opus", None, status="pending", reserved="0.5"),
        ),
    )
    return book


def test_validation_failures_by_reason_per_model_that_replied(tmp_path, make_config):
    stats = router_book(tmp_path / "ledger.sqlite").stats(make_config())
    assert stats["validation_failures"] == [
        {"model": "flash", "replies": 3, "invalid": 2, "invalid_rate": 0.6667, "by_reason": {"bad_json": 2}},
        {
            "model": "opus",
            "replies": 4,
            "invalid": 2,
            "invalid_rate": 0.5,
            "by_reason": {"unknown_tool": 1, "weird": 1},
        },
    ]
    table = next(table for table in stats_tables(stats) if table.title.startswith("validation"))
    assert [column.header for column in table.columns] == [
        "model", "replies", "invalid", "rate", "unknown_tool", "bad_json", "schema", "empty", "loop", "weird",
    ]  # fmt: skip
    assert table.rows == [
        ["flash", "3", "2", "67%", "0", "2", "0", "0", "0", "0"],
        ["opus", "4", "2", "50%", "1", "0", "0", "0", "0", "1"],  # a reason outside the usual five follows them
    ]


def test_latency_percentiles_per_model_with_the_fallback_hop_in_the_turn(tmp_path, make_config):
    latency = {row["model"]: row for row in router_book(tmp_path / "ledger.sqlite").stats(make_config())["latency"]}
    assert list(latency) == ["flash", "haiku", "opus"]
    # flash's calls: 10 (timed out), 1, 2, 3 s; inclusive quantiles
    assert latency["flash"]["call_s"] == {"n": 4, "p50": 2.5, "p90": 7.9, "p99": 9.79}
    assert latency["opus"]["call_s"] == {"n": 4, "p50": 5.5, "p90": 6.7, "p99": 6.97}  # the pending call has no time
    assert latency["haiku"]["call_s"] == {"n": 1, "p50": 0.5, "p90": 0.5, "p99": 0.5}
    # turns of the flash attempt end to end: 11.5 (the timeout), 9.5 (two invalid replies and the hop), 5
    assert latency["flash"]["turn_s"] == {"n": 3, "p50": 9.5, "p90": 11.1, "p99": 11.46}
    assert latency["flash"]["hop_turn_s"] == {"n": 1, "p50": 9.5, "p90": 9.5, "p99": 9.5}
    assert latency["opus"]["turn_s"] == {"n": 0, "p50": None, "p90": None, "p99": None}  # never a primary's turn


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], {"n": 0, "p50": None, "p90": None, "p99": None}),
        ([4.0], {"n": 1, "p50": 4.0, "p90": 4.0, "p99": 4.0}),
        ([5.0, 1.0, 3.0, 2.0, 4.0], {"n": 5, "p50": 3.0, "p90": 4.6, "p99": 4.96}),
    ],
)
def test_percentiles_are_inclusive_and_carry_n(values, expected):
    assert percentiles(values) == expected


def test_runs_are_chosen_by_id_by_since_or_from_the_last_30_days(tmp_path):
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)
    for run_id, created in (("old", at("2025-11-01")), ("mid", at("2026-01-01")), ("new", at("2026-01-14"))):
        ledger.create_run("fix", {}, Decimal(60), run_id=run_id)
        with sqlite3.connect(path) as db:
            db.execute("UPDATE runs SET created_at = ? WHERE id = ?", (created, run_id))
    now = at("2026-01-15", 12)
    assert select_runs(ledger, [], None, now) == (["mid", "new"], "runs created since 2025-12-16 (UTC)")
    assert select_runs(ledger, [], date(2026, 1, 14), now) == (["new"], "runs created since 2026-01-14 (UTC)")
    assert select_runs(ledger, ["new", "old", "new"], None, now) == (["new", "old"], "runs new, old")
    with pytest.raises(ConfigError, match="no run gone in"):
        select_runs(ledger, ["gone"], None, now)
    with pytest.raises(ConfigError, match="not both"):
        select_runs(ledger, ["old"], date(2026, 1, 1), now)


def test_fix_json_attempts_carry_their_fallbacks_and_validation_failures(tmp_path, make_config):
    book = router_book(tmp_path / "ledger.sqlite")
    attempts = fix_result(book.ledger, book.run_id, make_config())["attempts"]
    assert [(a["fallbacks"], a["validation_failures"]) for a in attempts] == [
        ([{"turn": 2, "from": "flash@low", "to": "opus@high", "reason": "bad_json"}], {"bad_json": 2}),
        ([], {"unknown_tool": 1, "weird": 1}),
    ]


def test_the_plain_output_prints_fallbacks_prominently_and_invalid_replies_dim():
    out = io.StringIO()
    printer = EventPrinter(Console(file=out, width=200, force_terminal=True))
    text = "deepseek-v4-flash: 2 invalid tool calls (bad_json) → claude-opus-4-7@high for the rest of this attempt"
    invalid = "flash@low: invalid reply (bad_json): the arguments are not a JSON object"
    printer(Event(kind="validation_failed", data={"turn": 2, "reason": "bad_json", "text": invalid}))
    printer(
        Event(kind="fallback", data={"turn": 2, "from": "a@low", "to": "b@high", "reason": "bad_json", "text": text})
    )
    printer(Event(kind="attempt_finished", data={"outcome": "finished", "turns": 4, "fallbacks": [{"turn": 2}]}))
    lines = Text.from_ansi(out.getvalue()).plain.splitlines()
    assert lines[1] == f"⤳ fallback: {text}"
    assert lines[0] == f"  {invalid}"
    assert lines[2] == "  attempt ended: finished after 4 turn(s) (1 fallback(s))"
    assert "\x1b[1;33m⤳ fallback:" in out.getvalue()  # bold yellow
    assert "\x1b[2m" in out.getvalue().splitlines()[0]  # dim


# the command ------------------------------------------------------------------------------------
def stats_cli(home: Path, path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_agent(home, "--ledger", str(path), "stats", *args, env=env)


def test_stats_json_has_the_five_sections(tmp_path):
    book = router_book(tmp_path / "ledger.sqlite")
    rates_book(tmp_path / "other.sqlite")
    done = stats_cli(tmp_path, book.path, "r1", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {
        "runs", "chosen", "advise_above", "advise_below", "min_attempts", "fallback_rate", "spend",
        "validation_failures", "latency", "rate_limits", "note",
    }  # fmt: skip
    assert data["rate_limits"] == []  # no provider was held in r1
    assert (data["runs"], data["note"], data["advise_above"], data["min_attempts"]) == (["r1"], None, 0.3, 5)
    assert set(data["spend"]) == {"by_day", "days", "by_model", "total"}
    assert set(data["fallback_rate"]) == {"by_task_type", "by_model", "by_task_type_model", "advice", "thin_cells"}
    assert data["fallback_rate"]["by_model"][0] == {
        "model": "flash", "attempts": 1, "with_fallback": 1, "fallback_rate": 1.0, "fallbacks": 1,
        "reasons": {"bad_json": 1},
    }  # fmt: skip
    assert data["spend"]["by_model"][0] == {
        "model": "flash", "calls": 4, "api_cost_usd": 0.03, "unpriced_calls": 0, "unsettled_calls": 0,
        "unsettled_cost_usd": 0.0, "uncertain_calls": 0, "uncertain_cost_usd": 0.0,
    }  # fmt: skip
    assert data["latency"][0]["call_s"] == {"n": 4, "p50": 2.5, "p90": 7.9, "p99": 9.79}


def test_stats_prints_tables_and_advice_with_thresholds_from_the_config(tmp_path):
    book = rates_book(tmp_path / "ledger.sqlite")
    done = stats_cli(tmp_path, book.path, "r1")
    assert done.returncode == 0, done.stderr
    assert "fallback rate by task type" in done.stdout and "fallback rate by primary model" in done.stdout
    assert f"advice: {WRONG}" in done.stdout and f"advice: {CHEAP}" in done.stdout
    (tmp_path / "agent.toml").write_text("[router]\nadvise_above = 0.6\n")
    done = stats_cli(tmp_path, book.path, "r1", env={"AGENT_CONFIG": str(tmp_path / "agent.toml")})
    assert done.returncode == 0, done.stderr
    assert WRONG not in done.stdout and f"advice: {CHEAP}" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "2026-02-30"), "error: --since '2026-02-30' is not a date: give a UTC day as YYYY-MM-DD"),
        (("nope",), "error: no run nope in"),
        (("r1", "--since", "2026-01-01"), "error: give RUN_IDs or --since, not both"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    book = Book(tmp_path / "ledger.sqlite")
    book.ledger.close()
    done = stats_cli(tmp_path, book.path, *args)
    assert done.returncode == 2
    assert done.stderr.startswith(message) and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_nothing_to_show_says_why_and_exits_0(tmp_path):
    path = tmp_path / "ledger.sqlite"
    Book(path).ledger.close()
    done = stats_cli(tmp_path, path, "--since", "2100-01-01")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("no runs created since 2100-01-01 (UTC) in ")
    done = stats_cli(tmp_path, path, "r1")
    assert (done.returncode, done.stdout.strip()) == (0, "nothing to show yet: runs r1 made no model calls")
    done = stats_cli(tmp_path, path, "r1", "--json")
    assert json.loads(done.stdout)["note"] == "nothing to show yet: runs r1 made no model calls"


def test_report_by_model_rows_carry_fallbacks_and_validation_failures_and_the_html_the_sections(tmp_path):
    book = router_book(tmp_path / "ledger.sqlite")
    html = tmp_path / "report.html"
    done = run_agent(
        tmp_path, "--ledger", str(book.path), "report", "r1", "--by", "model", "--json", "--html", str(html)
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    rows = {row["group"]: row for row in data["groups"]}
    assert (rows["flash"]["fallbacks"], rows["flash"]["attempts_with_fallback"]) == (1, 1)
    assert rows["flash"]["validation_failures"] == {"bad_json": 2}
    assert (rows["opus"]["fallbacks"], rows["opus"]["validation_failures"]) == (0, {"unknown_tool": 1, "weird": 1})
    assert data["stats"]["validation_failures"][0]["model"] == "flash"
    page = html.read_text()
    for title in (
        "fallback rate by task type",
        "fallback rate by primary model",
        "API $ per model per day",
        "validation failures by reason per model",
        "model call time (s) per model",
        "turn latency (s) per primary model",
    ):
        assert f"<h2>{title}" in page, title
    assert (
        "<h2>API $ per day, stacked by model</h2><img alt='API $ per day, stacked by model' src='data:image/png;base64,"
        in page
    )
    done = run_agent(tmp_path, "--ledger", str(book.path), "report", "r1", "--by", "model")
    assert done.returncode == 0, done.stderr
    assert "validation failures by reason per model" in done.stdout and "API $ per model per day" in done.stdout
