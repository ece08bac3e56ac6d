"""Ordered, named schema migrations; each applied once and recorded in `_migrations`.

A migration is registered where it is written (`@migration`, as simonw/llm does): `MIGRATIONS`
holds them in the order they are defined, each under its function's name, the name `_migrations`
records. Never rename, reorder or edit one that has shipped: add a new one at the end.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

from agent.core.patches import changed_lines

Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: list[tuple[str, Migration]] = []
"""(name, migration) in the order they apply."""


def migration(step: Migration) -> Migration:
    """Register `step` as the next migration, under its function's name."""
    MIGRATIONS.append((step.__name__, step))
    return step


def _execute_all(db: sqlite3.Connection, script: str) -> None:
    """Run each statement of `script` inside the caller's transaction (executescript would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


CALL_COLUMNS = """turn INTEGER NOT NULL,
    model TEXT NOT NULL,
    effort_sent TEXT,
    input_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER,
    max_tokens INTEGER,
    cost_usd TEXT,                   -- Decimal as text, NULL = unpriced
    price_source TEXT,
    duration_s REAL NOT NULL,
    retries INTEGER NOT NULL DEFAULT 0,
    stop_reason TEXT,
    error TEXT,
    created_at REAL NOT NULL"""
"""The calls table's columns after its ids, as `m001_initial` made them; `m003_issue_calls` rebuilds the
table with the same ones."""

INITIAL_SCHEMA = (
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,              -- fix | bench | grid
        status TEXT NOT NULL,            -- running | finished | interrupted | error
        created_at REAL NOT NULL,
        finished_at REAL,
        owner TEXT NOT NULL,             -- hostname:pid of the runner
        args_json TEXT NOT NULL DEFAULT '{}',
        hourly_rate_usd TEXT NOT NULL,
        max_cost_usd TEXT
    )
    """,
    """
    CREATE TABLE issues (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs(id),
        key TEXT NOT NULL,               -- instance id or issue slug
        title TEXT NOT NULL,
        task_type TEXT NOT NULL,
        task_type_reason TEXT NOT NULL,
        decided_by TEXT NOT NULL,        -- rules | model | task | user
        repo TEXT NOT NULL,
        base_commit TEXT NOT NULL,
        test_cmd TEXT NOT NULL,
        ladder TEXT NOT NULL,
        policy TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,            -- running | solved | unsolved | budget_exhausted | error
        error_kind TEXT,                 -- infra | provider | config (errors only)
        error TEXT,
        branch TEXT,
        patch_path TEXT,
        started_at REAL NOT NULL,
        finished_at REAL
    )
    """,
    "CREATE INDEX issues_run ON issues(run_id)",
    """
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        issue_id INTEGER NOT NULL REFERENCES issues(id),
        run_id TEXT NOT NULL,
        rung_index INTEGER NOT NULL,
        model TEXT NOT NULL,
        provider TEXT NOT NULL,
        effort_asked TEXT NOT NULL,
        effort_sent TEXT NOT NULL,
        state TEXT NOT NULL,             -- running | finished
        outcome TEXT,                    -- finished | turn_limit | budget_exhausted | format_error | ...
        tests_passed INTEGER,
        turns INTEGER NOT NULL DEFAULT 0,
        max_turns INTEGER NOT NULL,
        started_at REAL NOT NULL,
        finished_at REAL,
        duration_s REAL,
        model_time_s REAL,
        command_time_s REAL,
        diff_lines INTEGER,
        patch TEXT,
        plan TEXT,
        test_report_json TEXT,
        error TEXT
    )
    """,
    "CREATE INDEX attempts_issue ON attempts(issue_id)",
    f"""
    CREATE TABLE calls (
        id INTEGER PRIMARY KEY,
        attempt_id INTEGER NOT NULL REFERENCES attempts(id),
        {CALL_COLUMNS}
    )
    """,
    "CREATE INDEX calls_attempt ON calls(attempt_id)",
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        issue_id INTEGER,
        attempt_id INTEGER,
        ts REAL NOT NULL,
        kind TEXT NOT NULL,
        data_json TEXT NOT NULL
    )
    """,
    "CREATE INDEX events_run ON events(run_id, id)",
    """
    CREATE TABLE reviews (
        id INTEGER PRIMARY KEY,
        attempt_id INTEGER NOT NULL REFERENCES attempts(id),
        reviewer TEXT NOT NULL,
        minutes REAL NOT NULL,
        verdict TEXT NOT NULL,           -- accept | reject
        created_at REAL NOT NULL
    )
    """,
    "CREATE INDEX reviews_attempt ON reviews(attempt_id)",
)
"""The first schema: runs, issues, attempts, calls, events and reviews, one statement each."""


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    for statement in INITIAL_SCHEMA:
        db.execute(statement)


@migration
def m002_attempt_changed_lines(db: sqlite3.Connection) -> None:
    """Each attempt's changed lines (added + removed) next to its patch; what review estimates scale with.

    NULL means no patch was recorded (the attempt is running, or ended before its diff was taken).
    """
    db.execute("ALTER TABLE attempts ADD COLUMN changed_lines INTEGER")
    for attempt_id, patch in db.execute("SELECT id, patch FROM attempts WHERE patch IS NOT NULL").fetchall():
        db.execute("UPDATE attempts SET changed_lines = ? WHERE id = ?", (changed_lines(patch), attempt_id))


@migration
def m003_issue_calls(db: sqlite3.Connection) -> None:
    """Calls belong to an issue, and to an attempt only when an attempt made them.

    The classifier model's calls are made for an issue before any attempt: they are recorded with
    `attempt_id` NULL and `purpose` 'classify'. Every call names its issue, so an issue's API cost
    is the sum of its calls. SQLite cannot drop a NOT NULL constraint, so the table is rebuilt.
    """
    _execute_all(
        db,
        f"""
        CREATE TABLE calls_new (
            id INTEGER PRIMARY KEY,
            issue_id INTEGER REFERENCES issues(id),
            attempt_id INTEGER REFERENCES attempts(id),  -- NULL: made for the issue, not by an attempt
            purpose TEXT NOT NULL DEFAULT 'attempt',     -- attempt | classify
            {CALL_COLUMNS},
            CHECK (issue_id IS NOT NULL OR attempt_id IS NOT NULL)
        );
        INSERT INTO calls_new
            SELECT calls.id, attempts.issue_id, calls.attempt_id, 'attempt', calls.turn, calls.model,
                   calls.effort_sent, calls.input_tokens, calls.cache_read_tokens, calls.cache_write_tokens,
                   calls.output_tokens, calls.reasoning_tokens, calls.max_tokens, calls.cost_usd,
                   calls.price_source, calls.duration_s, calls.retries, calls.stop_reason, calls.error,
                   calls.created_at
            FROM calls LEFT JOIN attempts ON attempts.id = calls.attempt_id;
        DROP TABLE calls;
        ALTER TABLE calls_new RENAME TO calls;
        CREATE INDEX calls_attempt ON calls(attempt_id);
        CREATE INDEX calls_issue ON calls(issue_id);
        """,
    )


@migration
def m004_call_settlement(db: sqlite3.Connection) -> None:
    """Every request has a row, written before it is sent and settled when it ends.

    `status`: pending (sent, no reply yet) | ok (answered) | failed (gave up after the SDK's
    retries; `error_kind` names the ProviderError: unreachable, auth, status, timeout, malformed,
    context_window) | unsettled (pending when its runner died: a provider may have billed it).
    `reserved_usd` is the call's worst case, reserved before it was sent; a call that never
    settled counts at it. `cost_reason` says why a cost is what it is (a failed call: $0, no usage
    came back). Rows written before this migration were answered calls, or the classifier's
    failed calls (their `error` is set).
    """
    _execute_all(
        db,
        """
        ALTER TABLE calls ADD COLUMN status TEXT NOT NULL DEFAULT 'ok';
        ALTER TABLE calls ADD COLUMN error_kind TEXT;
        ALTER TABLE calls ADD COLUMN reserved_usd TEXT;
        ALTER TABLE calls ADD COLUMN cost_reason TEXT;
        UPDATE calls SET status = 'failed' WHERE error IS NOT NULL;
        CREATE INDEX calls_status ON calls(status)
        """,
    )


@migration
def m005_routing(db: sqlite3.Connection) -> None:
    """What the fallback router saw and did.

    `calls.validation`: NULL when the reply was valid (or was never checked: failed calls, the
    classifier's), else why it was not: unknown_tool | bad_json | schema | empty | loop.
    `calls.turn_s`: on the call whose valid reply ended a turn, the turn's end-to-end latency from
    its first request: invalid replies, failed requests and fallback hops included.
    `fallbacks`: one row per switch to a fallback rung within an attempt, with the reason
    (a validation reason, or the provider failure: rate_limit | overloaded | server_error | timeout |
    unreachable | malformed | context_window).
    """
    _execute_all(
        db,
        """
        ALTER TABLE calls ADD COLUMN validation TEXT;
        ALTER TABLE calls ADD COLUMN turn_s REAL;
        CREATE TABLE fallbacks (
            id INTEGER PRIMARY KEY,
            issue_id INTEGER NOT NULL REFERENCES issues(id),
            attempt_id INTEGER NOT NULL REFERENCES attempts(id),
            turn INTEGER NOT NULL,
            from_model TEXT NOT NULL,
            from_effort TEXT NOT NULL,
            to_model TEXT NOT NULL,
            to_effort TEXT NOT NULL,
            reason TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL
        );
        CREATE INDEX fallbacks_attempt ON fallbacks(attempt_id)
        """,
    )


@migration
def m006_attempt_progress(db: sqlite3.Connection) -> None:
    """What an attempt had done after each turn, and the attempts abandoned on it (escalation inside an attempt).

    `attempt_progress`: one row per turn of an attempt: `edits` (turns after which the work tree's diff
    had changed), `test_runs` and `failed_test_runs` (the model's runs of the tests), `last_test_passed`
    (NULL: no run yet), `turns_left` of the effort's budget, `spent_usd` (API $ of the attempt so far,
    Decimal as text, NULL = unpriced). `abandonments`: one row per attempt ended early to climb to the
    next rung, with the estimate behind it: `p_pass` (P(this attempt passes | its progress)),
    `remaining_usd` (expected API $ to its end) and `at_stake_usd` (what a pass here saves: the rest of
    the ladder's expected cost with the price of leaving the issue unsolved).
    """
    _execute_all(
        db,
        """
        CREATE TABLE attempt_progress (
            id INTEGER PRIMARY KEY,
            attempt_id INTEGER NOT NULL REFERENCES attempts(id),
            turn INTEGER NOT NULL,
            edits INTEGER NOT NULL,
            test_runs INTEGER NOT NULL,
            failed_test_runs INTEGER NOT NULL,
            last_test_passed INTEGER,
            turns_left INTEGER NOT NULL,
            spent_usd TEXT,
            created_at REAL NOT NULL
        );
        CREATE INDEX attempt_progress_attempt ON attempt_progress(attempt_id);
        CREATE TABLE abandonments (
            id INTEGER PRIMARY KEY,
            issue_id INTEGER NOT NULL REFERENCES issues(id),
            attempt_id INTEGER NOT NULL REFERENCES attempts(id),
            turn INTEGER NOT NULL,
            from_rung TEXT NOT NULL,
            to_rung TEXT NOT NULL,
            p_pass REAL NOT NULL,
            remaining_usd REAL NOT NULL,
            at_stake_usd REAL NOT NULL,
            reason TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX abandonments_attempt ON abandonments(attempt_id)
        """,
    )


@migration
def m007_call_cost_basis(db: sqlite3.Connection) -> None:
    """What a failed call is billed at, and calls made for a run before their issue has a row.

    `calls.cost_basis`: usage (answered: the reply's usage) | not_billed (refused before any
    generation, $0) | known_input (the stream failed after the provider counted its input: that
    input and the output streamed) | worst_case (nothing known: the worst case reserved). The last
    two are uncertain. Answered rows written before this migration get `usage`; failed ones stay NULL.
    `calls.run_id`: every call names its run. The classifier's call is recorded (pending) under the
    run before it is sent, when its issue has no row yet; the issue claims it when it opens. So the
    table is rebuilt without the check that a call names an issue or an attempt (its other columns
    kept as they are), and `run_id` is filled from each call's issue.
    """
    (table_sql,) = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'calls'").fetchone()
    indexes = [
        row[0]
        for row in db.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls'")
        if row[0] is not None
    ]
    rebuilt = re.sub(r",\s*CHECK \(issue_id IS NOT NULL OR attempt_id IS NOT NULL\)", "", table_sql)
    rebuilt = re.sub(r'^CREATE TABLE\s+"?calls"?', "CREATE TABLE calls_rebuilt", rebuilt)
    db.execute(rebuilt)
    db.execute("INSERT INTO calls_rebuilt SELECT * FROM calls")
    db.execute("DROP TABLE calls")
    db.execute("ALTER TABLE calls_rebuilt RENAME TO calls")
    for index in indexes:
        db.execute(index)
    _execute_all(
        db,
        """
        ALTER TABLE calls ADD COLUMN run_id TEXT REFERENCES runs(id);
        UPDATE calls SET run_id = (SELECT issues.run_id FROM issues WHERE issues.id = calls.issue_id);
        CREATE INDEX calls_run ON calls(run_id);
        ALTER TABLE calls ADD COLUMN cost_basis TEXT;
        UPDATE calls SET cost_basis = 'usage' WHERE status = 'ok'
        """,
    )


@migration
def m008_provider_holds(db: sqlite3.Connection) -> None:
    """`provider_holds`: one row per time a run held a provider (`agent.engine.calling.quota`): its
    `reason` (rate_limit | quota), when it began and ended, the seconds every caller waited
    (`waited_s`), the refusals (429s, quota errors) it saw, and how it ended (`outcome`: released, the
    provider answered again; paused, the run stopped using it)."""
    _execute_all(
        db,
        """
        CREATE TABLE provider_holds (
            id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id), provider TEXT NOT NULL,
            reason TEXT NOT NULL, started_at REAL NOT NULL, ended_at REAL NOT NULL, waited_s REAL NOT NULL,
            refusals INTEGER NOT NULL, outcome TEXT NOT NULL
        );
        CREATE INDEX provider_holds_run ON provider_holds(run_id)
        """,
    )


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply every migration not yet recorded, each in its own transaction; returns those applied now.

    `db` must be in autocommit mode (isolation_level=None). Safe when several processes open the
    same ledger at once: each migration re-checks `_migrations` under a write lock.
    """
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    applied = []
    for name, step in MIGRATIONS:
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone() is None:
                step(db)
                db.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, julianday('now'))", (name,))
                applied.append(name)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    return applied
