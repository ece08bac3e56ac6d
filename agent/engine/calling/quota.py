"""A provider gate: what a run does when a provider answers 429 (rate limited) or says the account is
out of quota, instead of failing the task.

Every model an attempt calls is wrapped in a `GatedModel` (between the fallback model and the
metered one: each request sent is still its own billed call row, a 429 a `not_billed` one). The
run keeps one `ProviderGate` per provider name (`ProviderGates`, in `RunSetup`: on threads, every job
of a batch shares it):

- a rate limit beyond the SDK's retries holds the provider until its `retry-after`, or a backoff
  of 5 s doubling to 60 s when it did not say; every caller of that provider waits on the gate, then
  one request (the probe) tries again while the others wait for its answer: answered, the hold is
  released and everyone goes; refused, the provider is held again;
- a hold longer than `[router] rate_limit_max_wait_s`, or a quota error (retrying cannot help: the
  user must top up), pauses the run's use of the provider: every caller of it raises
  `ProviderPaused`, which ends its issue paused (`agent resume` continues it).

On a Ray cluster every job has its own run setup, so its gates share their holds through the batch
(`SharedHolds`, kept by the batch keeper on the driver's node): a gate looks there before each call
and waits out (or pauses on) a hold another worker found, and tells it the holds it finds itself.

The fallback model never sees a rate limit the gate is waiting out. Each hold is a `provider_held`
event (again each time the probe is refused), then `provider_released` or `provider_paused`, and one
`provider_holds` row when it ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from agent.core.errors import ProviderError, ProviderPaused, StopRequested
from agent.core.messages import ModelTurn
from agent.core.model_request import ModelRequest, WrapperModel
from agent.core.protocols import Model, TextSink
from agent.engine.calling.metered import MeteredModel
from agent.ledger.facts import Fact, ProviderHoldEnded
from agent.ledger.holds import HoldOutcome, HoldReason, ProviderHold
from agent.providers.errors import QuotaExhausted
from agent.providers.pricing import PriceQuote

BACKOFF_START_S = 5.0
"""The first wait after a 429 that gave no retry-after; each further refusal doubles it."""
BACKOFF_CAP_S = 60.0
"""The longest backoff wait."""
POLL_S = 0.5
"""How often a waiting caller looks at the run's stop."""
REASON_TEXT = {"rate_limit": "rate limit", "quota": "out of quota"}


class HoldVoice(Protocol):
    """Where a gate reports a hold: the issue's voice of the caller that saw it (`run_setup.IssueLog`)."""

    run_id: str

    def __call__(self, kind: str, data: dict) -> None: ...

    def record(self, fact: Fact) -> int | None: ...


def hold_reason(exc: ProviderError) -> HoldReason | None:
    """Why a failure holds its provider: a quota error, or a 429 refused before any stream (None: it does not)."""
    if isinstance(exc, QuotaExhausted):
        return "quota"
    if exc.status == 429 and exc.refused and not isinstance(exc, ProviderPaused):
        return "rate_limit"
    return None


def clock_text(timestamp: float) -> str:
    """A moment as the local time of day, e.g. 12:03:10."""
    return time.strftime("%H:%M:%S", time.localtime(timestamp))


@dataclass(frozen=True)
class SharedHold:
    """A provider's hold as the batch shares it: held until `until`, or paused (`paused` says why)."""

    reason: HoldReason
    until: float
    paused: str | None = None


class SharedHolds(Protocol):
    """Where the gates of several processes share each provider's hold (None: not held)."""

    def look(self, provider: str) -> SharedHold | None: ...

    def tell(self, provider: str, hold: SharedHold | None) -> None: ...


@dataclass
class _Hold:
    """The current hold of a gate: from its first refusal until a probe is answered (or the run pauses)."""

    reason: HoldReason
    started_at: float
    until: float
    refusals: int = 0
    backoff_s: float = 0.0

    def next_wait(self, retry_after: float | None) -> float:
        """Seconds to wait after a refusal: what the provider asked, else the next backoff step."""
        if retry_after is not None and retry_after > 0:
            return retry_after
        self.backoff_s = min(BACKOFF_CAP_S, self.backoff_s * 2 if self.backoff_s else BACKOFF_START_S)
        return self.backoff_s

    def ended(self, provider: str, outcome: HoldOutcome, now: float) -> ProviderHold:
        return ProviderHold(
            provider=provider,
            reason=self.reason,
            started_at=self.started_at,
            ended_at=now,
            waited_s=round(now - self.started_at, 3),
            refusals=self.refusals,
            outcome=outcome,
        )


class ProviderGate:
    """One provider's gate, shared by every caller of it in a run (thread-safe)."""

    def __init__(self, provider: str, shared: SharedHolds | None = None) -> None:
        self.provider = provider
        self.shared = shared
        self._changed = threading.Condition()
        self._hold: _Hold | None = None
        self._probing = False
        self._paused: tuple[str, HoldReason] | None = None

    @property
    def held(self) -> bool:
        with self._changed:
            return self._hold is not None

    def enter(self, stop: threading.Event) -> bool:
        """Wait while the provider is held; True when this caller is the probe of a hold whose wait is over.
        ProviderPaused when the run stopped using the provider; StopRequested when the user stops the run."""
        if self.shared is not None:
            self._adopt(self.shared.look(self.provider))
        with self._changed:
            while True:
                self._raise_if_paused()
                hold = self._hold
                if hold is None:
                    return False
                if stop.is_set():
                    raise StopRequested(f"stopped by the user while {self.provider} was held")
                left = hold.until - time.time()
                if left <= 0 and not self._probing:
                    self._probing = True
                    return True
                self._changed.wait(min(left, POLL_S) if left > 0 else POLL_S)

    def _adopt(self, shared: SharedHold | None) -> None:
        """Take up a hold (or pause) another process of the batch found."""
        if shared is None:
            return
        with self._changed:
            now = time.time()
            if shared.paused is not None:
                self._paused = self._paused or (shared.paused, shared.reason)
            elif shared.until > now and self._hold is None:
                self._hold = _Hold(reason=shared.reason, started_at=now, until=shared.until)
            self._changed.notify_all()

    def leave(self, probe: bool) -> None:
        """The call failed otherwise: its probe (if it was one) is over, another caller may probe."""
        if probe:
            with self._changed:
                self._probing = False
                self._changed.notify_all()

    def answered(self, probe: bool, voice: HoldVoice) -> None:
        """The call was answered: a probe's answer releases the hold."""
        with self._changed:
            hold = self._hold
            if not probe or hold is None:
                return
            self._probing, self._hold = False, None
            self._changed.notify_all()
        if self.shared is not None:
            self.shared.tell(self.provider, None)
        now = time.time()
        ended = hold.ended(self.provider, "released", now)
        text = (
            f"provider {self.provider} released after {ended.waited_s:.0f} s "
            f"({REASON_TEXT[hold.reason]}, {hold.refusals} refusal(s))"
        )
        self._report(voice, "provider_released", ended, text)

    def refused(self, exc: ProviderError, reason: HoldReason, probe: bool, max_wait_s: float, voice: HoldVoice) -> None:
        """A rate limit or a quota error: hold the provider (the caller waits at `enter`, then retries), or
        pause the run's use of it (raises ProviderPaused)."""
        with self._changed:
            if probe:
                self._probing = False
            self._raise_if_paused()
            now = time.time()
            hold = self._hold
            began = hold is None or probe
            if hold is None:
                hold = self._hold = _Hold(reason=reason, started_at=now, until=now)
            hold.refusals += 1
            wait = 0.0 if reason == "quota" else hold.next_wait(exc.retry_after)
            pause = reason == "quota" or now + wait - hold.started_at > max_wait_s
            text = self._pause_text(exc, reason, now - hold.started_at, max_wait_s)
            if pause:
                hold.reason, self._paused, self._hold = reason, (text, reason), None
            else:
                hold.until = max(hold.until, now + wait)
            self._changed.notify_all()
        if self.shared is not None:
            told = SharedHold(reason=reason, until=hold.until, paused=text if pause else None)
            self.shared.tell(self.provider, told)
        if pause:
            self._report(voice, "provider_paused", hold.ended(self.provider, "paused", now), text)
            raise ProviderPaused(text, provider=self.provider, reason=reason)
        if began:
            self._held(voice, hold, now)

    def _held(self, voice: HoldVoice, hold: _Hold, now: float) -> None:
        wait_s = max(0.0, hold.until - now)
        text = (
            f"provider {self.provider} held for {wait_s:.0f} s ({REASON_TEXT[hold.reason]}), "
            f"resumes {clock_text(hold.until)}"
        )
        data = {
            "provider": self.provider,
            "reason": hold.reason,
            "wait_s": round(wait_s, 3),
            "until": hold.until,
            "held_s": round(now - hold.started_at, 3),
            "refusals": hold.refusals,
            "text": text,
        }
        voice("provider_held", data)

    def _report(self, voice: HoldVoice, kind: str, ended: ProviderHold, text: str) -> None:
        voice.record(ProviderHoldEnded(run_id=voice.run_id, hold=ended))
        data: dict[str, Any] = {
            "provider": self.provider,
            "reason": ended.reason,
            "waited_s": ended.waited_s,
            "refusals": ended.refusals,
            "text": text,
        }
        voice(kind, data)

    def _pause_text(self, exc: ProviderError, reason: HoldReason, held_s: float, max_wait_s: float) -> str:
        if reason == "quota":
            return f"provider {self.provider} is out of quota: its use in this run is paused ({exc})"
        return (
            f"provider {self.provider} kept answering 429 (rate limited) for {held_s:.0f} s, past [router] "
            f"rate_limit_max_wait_s = {max_wait_s:g}: its use in this run is paused; `agent resume` the run later"
        )

    def _raise_if_paused(self) -> None:
        if self._paused is not None:
            text, reason = self._paused
            raise ProviderPaused(text, provider=self.provider, reason=reason)


@dataclass
class GatedModel(WrapperModel):
    """`model` (metered), called only while its provider's gate is open; a rate limit is waited out and
    the same request sent again."""

    model: Model
    gate: ProviderGate
    voice: HoldVoice
    max_wait_s: float
    stop: threading.Event

    def reply(self, request: ModelRequest, on_text: TextSink | None) -> ModelTurn:
        gate = self.gate
        while True:
            probe = gate.enter(self.stop)
            try:
                turn = self.forward(request, on_text)
            except ProviderError as exc:
                reason = hold_reason(exc)
                if reason is None:
                    gate.leave(probe)
                    raise
                gate.refused(exc, reason, probe, self.max_wait_s, self.voice)
                continue
            except BaseException:
                gate.leave(probe)
                raise
            gate.answered(probe, self.voice)
            return turn


MakeModel = Callable[[Model, PriceQuote | None], Model]
"""Builds the model an attempt calls from a provider's model and its price (the metered one)."""


class ProviderGates:
    """The gates of one run, one per provider name, made on first use (thread-safe)."""

    def __init__(self, shared: SharedHolds | None = None) -> None:
        self._gates: dict[str, ProviderGate] = {}
        self._lock = threading.Lock()
        self.shared = shared

    def gate(self, provider: str) -> ProviderGate:
        with self._lock:
            if provider not in self._gates:
                self._gates[provider] = ProviderGate(provider, self.shared)
            return self._gates[provider]

    def held(self) -> list[str]:
        """The providers held now."""
        with self._lock:
            gates = list(self._gates.values())
        return [gate.provider for gate in gates if gate.held]

    def wrapping(self, make: MakeModel, voice: HoldVoice, max_wait_s: float, stop: threading.Event) -> MakeModel:
        """`make`, its model gated by its provider's gate (holds reported through `voice`)."""

        def gated(model: Model, price: PriceQuote | None) -> Model:
            return GatedModel(make(model, price), self.gate(model.provider), voice, max_wait_s, stop)

        return gated


def provider_model(model: Model) -> Model:
    """The provider's model inside a gated and metered one."""
    while isinstance(model, GatedModel | MeteredModel):
        model = model.model
    return model
