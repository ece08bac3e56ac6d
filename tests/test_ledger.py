"""The SQLite ledger: migrations, transactional attempts, events, reviews."""

import sqlite3
from decimal import Decimal

import pytest

from agent.core.errors import ConfigError
from agent.core.messages import Usage
from agent.ledger import CallRecord, Ledger
from agent.ledger.migrations import MIGRATIONS


def _issue(ledger: Ledger, run_id: str) -> int:
    return ledger.add_issue(
        run_id,
        key="k",
        title="t",
        task_type="bug_fix",
        task_type_reason="r",
        decided_by="rules",
        repo="/r",
        base_commit="abc",
        test_cmd="pytest",
        ladder="m@high",
    )


def test_migrations_apply_from_empty_then_are_idempotent(tmp_path):
    path = tmp_path / "ledger.sqlite"
    first = Ledger(path)
    assert first.applied_migrations == [name for name, _ in MIGRATIONS]
    first.close()
    second = Ledger(path)
    assert second.applied_migrations == []
    names = [row[0] for row in sqlite3.connect(path).execute("SELECT name FROM _migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]
    tables = {row[0] for row in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "issues", "attempts", "calls", "events", "reviews", "fallbacks", "_migrations"} <= tables


def test_ledger_uses_wal(tmp_path):
    Ledger(tmp_path / "l.sqlite").close()
    mode = sqlite3.connect(tmp_path / "l.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_attempt_reads_running_until_finished_in_one_step(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite")
    run_id = ledger.create_run("fix", {"a": 1}, Decimal(100))
    issue_id = _issue(ledger, run_id)
    attempt_id = ledger.start_attempt(
        issue_id, run_id, rung_index=0, model="m", provider="p", effort_asked="max", effort_sent="high", max_turns=5
    )
    running = ledger.attempt(attempt_id)
    assert (running.state, running.outcome, running.tests_passed) == ("running", None, None)
    ledger.finish_attempt(attempt_id, "finished", True, turns=3, patch="diff")
    done = ledger.attempt(attempt_id)
    assert (done.state, done.outcome, done.tests_passed, done.turns, done.patch) == (
        "finished",
        "finished",
        True,
        3,
        "diff",
    )
    assert (done.effort_asked, done.effort_sent) == ("max", "high")


def test_calls_keep_tokens_cost_and_price_source(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite")
    run_id = ledger.create_run("fix", {}, Decimal(100))
    attempt_id = ledger.start_attempt(
        _issue(ledger, run_id),
        run_id,
        rung_index=0,
        model="m",
        provider="p",
        effort_asked="low",
        effort_sent="low",
        max_turns=5,
    )
    usage = Usage(
        input_tokens=1000, cache_read_tokens=600, cache_write_tokens=300, output_tokens=50, reasoning_tokens=7
    )
    ledger.record_call(
        attempt_id,
        CallRecord(
            turn=1,
            model="m",
            effort_sent="low",
            usage=usage,
            cost_usd=Decimal("0.0123"),
            price_source="override",
            duration_s=0.5,
            retries=2,
        ),
    )
    ledger.record_call(
        attempt_id,
        CallRecord(turn=2, model="m", effort_sent="low", usage=Usage(), cost_usd=None, price_source=None, duration_s=0),
    )
    calls = ledger.calls(attempt_id)
    assert calls[0].usage == usage
    assert (calls[0].cost_usd, calls[0].price_source, calls[0].retries) == (Decimal("0.0123"), "override", 2)
    assert calls[1].cost_usd is None


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite")
    run_id = ledger.create_run("fix", {}, Decimal(100))
    with pytest.raises(RuntimeError), ledger.transaction() as db:
        db.execute("INSERT INTO events (run_id, ts, kind, data_json) VALUES (?, 0, 'x', '{}')", (run_id,))
        raise RuntimeError("crash mid-write")
    assert ledger.events(run_id) == []


def test_events_are_read_in_order_after_an_id(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite")
    run_id = ledger.create_run("fix", {}, Decimal(100))
    ids = [ledger.record_event(run_id, kind, {"n": n}) for n, kind in enumerate(["a", "b", "c"])]
    assert [event.kind for event in ledger.events(run_id, after_id=ids[0])] == ["b", "c"]
    assert [event.data["n"] for event in ledger.events(run_id, kinds=("c",))] == [2]


def test_review_verdict_must_be_accept_or_reject(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite")
    with pytest.raises(ConfigError):
        ledger.record_review(1, 3.0, "maybe", "me")


def test_unopenable_ledger_is_a_config_error(tmp_path):
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(ConfigError, match="cannot open ledger"):
        Ledger(tmp_path / "dir.sqlite")


PATCH = (
    "diff --git a/calc/ops.py b/calc/ops.py\n"
    "--- a/calc/ops.py\n"
    "+++ b/calc/ops.py\n"
    "@@ -1,3 +1,3 @@\n"
    " def add(a, b):\n"
    "-    return a - b\n"
    "+    return a + b\n"
    "--- a removed line that looks like a header\n"
)


@pytest.mark.parametrize(
    ("patch", "changed"),
    [(PATCH, 3), ("", 0), ("diff --git a/x.bin b/x.bin\nGIT binary patch\nliteral 3\nHcmV?d00001\n", 0)],
)
def test_finishing_an_attempt_with_a_patch_records_its_changed_lines(tmp_path, patch, changed):
    ledger = Ledger(tmp_path / "l.sqlite")
    run_id = ledger.create_run("fix", {}, Decimal(100))
    attempt_id = ledger.start_attempt(
        _issue(ledger, run_id),
        run_id,
        rung_index=0,
        model="m",
        provider="p",
        effort_asked="low",
        effort_sent="low",
        max_turns=5,
    )
    assert ledger.attempt(attempt_id).changed_lines is None
    ledger.finish_attempt(attempt_id, "finished", False, patch=patch)
    assert ledger.attempt(attempt_id).changed_lines == changed


def _call(turn: int, cost: str | None) -> CallRecord:
    return CallRecord(
        turn=turn,
        model="m",
        effort_sent="low",
        usage=Usage(input_tokens=10 * turn, output_tokens=turn),
        cost_usd=None if cost is None else Decimal(cost),
        price_source=None,
        duration_s=0.1,
    )


def test_issue_calls_are_apart_from_attempt_calls_and_both_count_in_the_spend(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite")
    run_id = ledger.create_run("bench", {}, Decimal(100))
    first, second = _issue(ledger, run_id), _issue(ledger, run_id)
    attempt_id = ledger.start_attempt(
        first, run_id, rung_index=0, model="m", provider="p", effort_asked="low", effort_sent="low", max_turns=5
    )
    ledger.record_issue_call(first, _call(0, "0.0002"), "classify")
    ledger.record_call(attempt_id, _call(1, "0.01"))
    ledger.record_call(attempt_id, _call(2, None))
    ledger.record_issue_call(second, _call(0, "0.0003"), "classify")
    assert [(c.turn, c.purpose, c.issue_id, c.attempt_id) for c in ledger.calls(attempt_id)] == [
        (1, "attempt", first, attempt_id),
        (2, "attempt", first, attempt_id),
    ]
    assert [(c.purpose, c.attempt_id, c.cost_usd) for c in ledger.issue_calls(first)] == [
        ("classify", None, Decimal("0.0002"))
    ]
    assert ledger.spent(run_id, first) == Decimal("0.0102")
    assert ledger.spent(run_id) == Decimal("0.0105")


def test_a_ledger_made_before_the_issue_calls_migration_keeps_its_calls_and_gains_changed_lines(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    MIGRATIONS[0][1](db)
    db.execute("INSERT INTO _migrations VALUES ('m001_initial', 0)")
    db.execute("INSERT INTO runs VALUES ('r', 'fix', 'finished', 0, 1, 'h:1', '{}', '100', NULL)")
    db.execute(
        "INSERT INTO issues (id, run_id, key, title, task_type, task_type_reason, decided_by, repo, base_commit,"
        " test_cmd, ladder, status, started_at) VALUES (7, 'r', 'k', 't', 'bug_fix', 'r', 'rules', '/r', 'abc',"
        " 'pytest', 'm@low', 'unsolved', 0)"
    )
    for attempt_id, patch in ((1, PATCH), (2, ""), (3, None)):
        db.execute(
            "INSERT INTO attempts (id, issue_id, run_id, rung_index, model, provider, effort_asked, effort_sent,"
            " state, max_turns, started_at, patch) VALUES (?, 7, 'r', 0, 'm', 'p', 'low', 'low', 'finished', 5, 0, ?)",
            (attempt_id, patch),
        )
    db.execute(
        "INSERT INTO calls (attempt_id, turn, model, input_tokens, cache_read_tokens, cache_write_tokens,"
        " output_tokens, cost_usd, duration_s, created_at) VALUES (1, 1, 'm', 100, 0, 0, 5, '0.25', 0.5, 0)"
    )
    db.close()
    ledger = Ledger(path)
    assert ledger.applied_migrations == [name for name, _ in MIGRATIONS[1:]]  # every one after m001_initial
    assert [attempt.changed_lines for attempt in ledger.attempts("r")] == [3, 0, None]
    [call] = ledger.calls(1)
    assert (call.issue_id, call.attempt_id, call.purpose, call.usage.input_tokens, call.cost_usd) == (
        7,
        1,
        "attempt",
        100,
        Decimal("0.25"),
    )
    assert ledger.spent("r") == Decimal("0.25")
    indexes = {row[0] for row in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"calls_attempt", "calls_issue"} <= indexes
