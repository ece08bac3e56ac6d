"""The provider gate (`agent.engine.calling.quota`) over the real SDKs against the fake provider: a
rate limit is waited out (its retry-after) and the same request sent again, every other caller waits
on the gate instead of sending, a hold past the max wait or a quota error pauses the run's use of the
provider; each 429 is its own unbilled call row, each hold a `provider_holds` row and events."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime

import anthropic
import httpx
import pytest

from agent.bench.batch_keeper import BatchKeeper
from agent.core.errors import ProviderPaused
from agent.engine.calling.quota import BACKOFF_START_S, GatedModel, ProviderGates
from agent.providers.errors import retry_after_s
from agent.simulate.script import Fault, Script
from tests.quota_helpers import GatedRun, ask, statuses

NO_RETRIES = {"providers.anthropic.max_retries": 0, "providers.openai.max_retries": 0}
"""The SDK gives up at once: the gate is what waits."""


def storm(retry_after: float, for_s: float, **extra: object) -> Script:
    return Script(faults=[Fault(status=429, retry_after=retry_after, for_s=for_s, **extra)])


def test_a_rate_limited_call_waits_out_the_storm_and_is_answered_with_one_unbilled_row_per_429(
    tmp_path, make_fake, make_config
):
    fake = make_fake(storm(retry_after=1, for_s=2.5))
    run = GatedRun.open(tmp_path / "ledger.sqlite", make_config(**NO_RETRIES), fake)
    model, attempt_id = run.attempt()
    began = time.monotonic()
    assert ask(model).text == "Done."
    waited = time.monotonic() - began
    assert statuses(fake) == [429, 429, 429, 200]  # at 0, 1 and 2 s (retry-after 1), answered at 3 s
    assert 3 <= waited < 5  # the retry-after it said, not the 5 s backoff
    calls = run.ledger.calls(attempt_id)
    assert [(call.status, call.cost_basis, str(call.cost_usd)) for call in calls] == [
        ("failed", "not_billed", "0"),
        ("failed", "not_billed", "0"),
        ("failed", "not_billed", "0"),
        ("ok", "usage", "None"),  # unpriced here: the test gave no price
    ]
    [hold] = run.ledger.holds(run.run_id)
    assert (hold.provider, hold.reason, hold.refusals, hold.outcome) == ("anthropic", "rate_limit", 3, "released")
    assert 3 <= hold.waited_s < 5
    assert run.kinds("provider_held", "provider_released", "provider_paused") == [
        "provider_held",
        "provider_held",
        "provider_held",
        "provider_released",
    ]
    held = next(event.data for event in run.events if event.kind == "provider_held")
    assert (held["provider"], held["reason"], held["wait_s"], held["refusals"]) == ("anthropic", "rate_limit", 1.0, 1)
    assert held["text"].startswith("provider anthropic held for 1 s (rate limit), resumes ")


def test_other_callers_wait_on_the_gate_instead_of_sending(tmp_path, make_fake, make_config):
    fake = make_fake(storm(retry_after=1, for_s=1.5))
    run = GatedRun.open(tmp_path / "ledger.sqlite", make_config(**NO_RETRIES), fake)
    (first, first_id), (second, second_id) = run.attempt(), run.attempt()
    answers: list[str] = []
    caller = threading.Thread(target=lambda: answers.append(ask(first).text))
    caller.start()
    for _ in range(100):
        if first.gate.held:
            break
        time.sleep(0.02)
    assert first.gate is second.gate and first.gate.held
    answers.append(ask(second).text)  # waits on the gate: sends only once the hold is released
    caller.join(10)
    assert answers == ["Done.", "Done."]
    assert statuses(fake) == [429, 429, 200, 200]  # at 0 s, the probe at 1 s, the probe at 2 s, then the other
    calls = [call.status for call in run.ledger.calls(first_id) + run.ledger.calls(second_id)]
    assert sorted(calls) == ["failed", "failed", "ok", "ok"]  # one probe at a time: either caller may be it
    [hold] = run.ledger.holds(run.run_id)
    assert (hold.refusals, hold.outcome) == (2, "released")


def test_a_hold_past_the_max_wait_pauses_the_providers_use_for_every_caller(tmp_path, make_fake, make_config):
    fake = make_fake(storm(retry_after=1, for_s=30))
    run = GatedRun.open(tmp_path / "ledger.sqlite", make_config(**NO_RETRIES), fake, max_wait_s=1.5)
    model, attempt_id = run.attempt()
    with pytest.raises(ProviderPaused) as paused:
        ask(model)  # held 1 s after the first 429; the second would make it 2 s, past 1.5
    assert (paused.value.provider, paused.value.reason) == ("anthropic", "rate_limit")
    assert "rate_limit_max_wait_s = 1.5" in str(paused.value)
    assert statuses(fake) == [429, 429]
    later, _ = run.attempt()
    with pytest.raises(ProviderPaused):
        ask(later)  # the run no longer sends to it at all
    assert statuses(fake) == [429, 429]
    [hold] = run.ledger.holds(run.run_id)
    assert (hold.reason, hold.refusals, hold.outcome) == ("rate_limit", 2, "paused")
    assert run.kinds("provider_held", "provider_paused") == ["provider_held", "provider_paused"]
    assert [call.cost_basis for call in run.ledger.calls(attempt_id)] == ["not_billed", "not_billed"]


@pytest.mark.parametrize(
    ("wire", "status", "message"),
    [
        ("anthropic", 400, "Your credit balance is too low to access the Anthropic API."),
        ("openai", 429, "You exceeded your current quota, please check your plan and billing details."),
    ],
)
def test_a_quota_error_pauses_the_provider_at_once_without_retrying(
    wire, status, message, tmp_path, make_fake, make_config
):
    fake = make_fake(Script(faults=[Fault(quota=True, for_s=60)]))
    run = GatedRun.open(tmp_path / "ledger.sqlite", make_config(**NO_RETRIES), fake, wire=wire)
    model, attempt_id = run.attempt()
    with pytest.raises(ProviderPaused) as paused:
        ask(model)
    assert (paused.value.provider, paused.value.reason) == (wire, "quota")
    assert message in str(paused.value) and "top up" in str(paused.value)
    assert statuses(fake) == [status]
    [call] = run.ledger.calls(attempt_id)
    assert (call.status, call.error_kind, call.cost_basis) == ("failed", "quota", "not_billed")
    [hold] = run.ledger.holds(run.run_id)
    assert (hold.provider, hold.reason, hold.refusals, hold.outcome) == (wire, "quota", 1, "paused")
    assert run.kinds("provider_held", "provider_paused") == ["provider_paused"]


def test_a_window_fault_answers_every_matching_request_until_it_closes(tmp_path, make_fake, make_config):
    fake = make_fake(Script(faults=[Fault(status=529, count=1, for_s=0.6)]))
    run = GatedRun.open(tmp_path / "ledger.sqlite", make_config(**NO_RETRIES), fake)
    model, _ = run.attempt()
    for _ in range(3):
        with pytest.raises(Exception, match="529"):  # not a rate limit: the gate lets it through
            ask(model)
    time.sleep(0.7)
    assert ask(model).text == "Done."
    assert statuses(fake) == [529, 529, 529, 200]  # its count does not apply inside the window
    assert run.ledger.holds(run.run_id) == []


@pytest.mark.slow
def test_a_429_without_retry_after_waits_the_first_backoff_step(tmp_path, make_fake, make_config):
    fake = make_fake(Script(faults=[Fault(status=429, count=1)]))
    run = GatedRun.open(tmp_path / "ledger.sqlite", make_config(**NO_RETRIES), fake)
    model, _ = run.attempt()
    began = time.monotonic()
    assert ask(model).text == "Done."
    assert BACKOFF_START_S <= time.monotonic() - began < BACKOFF_START_S + 1.5
    assert statuses(fake) == [429, 200]
    held = next(event.data for event in run.events if event.kind == "provider_held")
    assert held["wait_s"] == BACKOFF_START_S


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": format_datetime(datetime.fromtimestamp(1_000_030, tz=UTC), usegmt=True)}, 30.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_the_retry_after_of_an_sdk_error_is_read_from_its_response(headers, seconds):
    response = httpx.Response(429, headers=headers, request=httpx.Request("POST", "http://127.0.0.1/v1/messages"))
    error = anthropic.RateLimitError("rate limited", response=response, body=None)
    assert retry_after_s(error, now=1_000_000.0) == seconds


def _gated_apart(run: GatedRun, keeper: BatchKeeper) -> tuple[GatedModel, GatedModel]:
    """Two attempts whose gates are apart (as in two Ray workers) but share the batch keeper's holds."""
    run.gates = ProviderGates(shared=keeper)
    first, _ = run.attempt()
    run.gates = ProviderGates(shared=keeper)
    second, _ = run.attempt()
    assert first.gate is not second.gate
    return first, second


def test_a_hold_one_worker_found_is_waited_out_by_another_before_it_sends(tmp_path, make_fake, make_config):
    fake = make_fake(storm(retry_after=2, for_s=1))
    run = GatedRun.open(tmp_path / "ledger.sqlite", make_config(**NO_RETRIES), fake)
    keeper = BatchKeeper(None, Decimal(0))
    first, second = _gated_apart(run, keeper)
    caller = threading.Thread(target=lambda: ask(first))
    caller.start()
    for _ in range(100):
        if keeper.look("anthropic") is not None:
            break
        time.sleep(0.02)
    began = time.monotonic()
    assert ask(second).text == "Done."  # sends only when the hold the first found is over: no 429 of its own
    caller.join(10)
    assert time.monotonic() - began > 1.2
    assert statuses(fake) == [429, 200, 200]
    assert keeper.look("anthropic") is None  # released by the probe that was answered


def test_a_quota_one_worker_found_pauses_another_without_a_request(tmp_path, make_fake, make_config):
    fake = make_fake(Script(faults=[Fault(quota=True, for_s=60)]))
    run = GatedRun.open(tmp_path / "ledger.sqlite", make_config(**NO_RETRIES), fake)
    keeper = BatchKeeper(None, Decimal(0))
    first, second = _gated_apart(run, keeper)
    with pytest.raises(ProviderPaused):
        ask(first)
    with pytest.raises(ProviderPaused) as paused:
        ask(second)
    assert paused.value.reason == "quota" and "out of quota" in str(paused.value)
    assert statuses(fake) == [400]  # the second never sent
    keeper.tell("anthropic", None)  # an answer elsewhere does not lift a pause: the user resumes the run
    assert keeper.look("anthropic") is not None
