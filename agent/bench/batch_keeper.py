"""The batch cap on a Ray cluster: the batch budget as an actor on the driver's node (`BatchKeeper`), and
the `Batch` each worker's issue budgets reserve from (`KeeperProxy`). BudgetExhausted travels back as
a message, with what the refused call needed and what was left (an issue pauses on it).

The keeper also remembers each call of every try of a job (a worker's run of it, tagged): a try whose
worker was lost never sends its facts back, so its calls would be missing from the ledger. The driver
takes them (`lost_calls`) when the job ends and bills them on its issue. And it keeps each provider's
hold (a rate limit being waited out, or a pause), which every worker's gates share (`SharedHolds`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from agent.bench.batch_budget import BatchBudget
from agent.core.errors import BudgetExhausted
from agent.core.messages import Usage
from agent.engine.calling.quota import SharedHold
from agent.ledger import Ledger
from agent.ledger.calls import LOST_PURPOSE, CallRecord
from agent.providers.pricing import PriceQuote

TRY_MARK = "#"
"""Between a job's key and the tag of one try of it, in the keys a worker's proxy sends."""


class KeptCall(BaseModel):
    """One call a try reserved for: its model and price source, its worst case, and its cost once settled."""

    model: str | None
    price_source: str | None
    reserved_usd: Decimal | None
    settled: bool = False
    cost_usd: Decimal | None = None


class BatchKeeper:
    """The batch budget as a Ray actor; BudgetExhausted travels back as a message."""

    def __init__(self, cap: Decimal | None, spent: Decimal) -> None:
        self.budget = BatchBudget(cap, spent)
        self.tries: dict[str, dict[str, list[KeptCall]]] = {}  # job key -> try tag -> its calls
        self.holds: dict[str, SharedHold] = {}  # provider -> its hold

    def left(self) -> Decimal | None:
        return self.budget.left()

    def allow_for(
        self, key: str, own_left: Decimal | None, prompt_tokens: int, max_tokens: int, price: PriceQuote | None
    ) -> tuple[int, str, Decimal | None, Decimal | None]:
        try:
            fits = self.budget.allow_for(key, own_left, prompt_tokens, max_tokens, price)
        except BudgetExhausted as exc:
            return 0, str(exc), exc.needed, exc.left
        call = KeptCall(
            model=price.model if price else None,
            price_source=price.source if price else None,
            reserved_usd=self.budget.reserved(key) if price else None,
        )
        self._calls(key).append(call)
        return fits, "", None, None

    def settle(self, key: str, cost: Decimal | None) -> None:
        self.budget.settle(key, cost)
        calls = self._calls(key)
        if calls and not calls[-1].settled:
            calls[-1] = calls[-1].model_copy(update={"settled": True, "cost_usd": cost})

    def look(self, provider: str) -> SharedHold | None:
        return self.holds.get(provider)

    def tell(self, provider: str, hold: SharedHold | None) -> None:
        """A worker's gate found a hold (or a pause), or was answered: a pause stays until the batch ends."""
        current = self.holds.get(provider)
        if current is not None and current.paused is not None:
            return
        if hold is None:
            self.holds.pop(provider, None)
        else:
            self.holds[provider] = hold

    def _calls(self, key: str) -> list[KeptCall]:
        job, _, tag = key.rpartition(TRY_MARK)
        return self.tries.setdefault(job, {}).setdefault(tag, [])

    def lost_calls(self, job: str, kept: str | None) -> list[KeptCall]:
        """The calls of the job's tries other than `kept` (the try whose facts came back), forgotten
        here; one still in flight is charged to the batch at its worst case (its provider may bill it)."""
        lost: list[KeptCall] = []
        for tag, calls in self.tries.pop(job, {}).items():
            if tag == kept:
                continue
            if calls and not calls[-1].settled:
                self.budget.settle(f"{job}{TRY_MARK}{tag}", calls[-1].reserved_usd)
            lost += calls
        return lost


class KeeperProxy:
    """A `Batch` in a Ray worker that asks the head's BatchKeeper actor, for one try (`tag`) of a job,
    and the `SharedHolds` of the worker's provider gates."""

    def __init__(self, keeper: Any, tag: str) -> None:
        self.keeper, self.tag = keeper, tag

    def left(self) -> Decimal | None:
        import ray

        left: Decimal | None = ray.get(self.keeper.left.remote())
        return left

    def allow_for(
        self, key: str, own_left: Decimal | None, prompt_tokens: int, max_tokens: int, price: PriceQuote | None
    ) -> int:
        import ray

        fits, refused, needed, left = ray.get(
            self.keeper.allow_for.remote(self._try_key(key), own_left, prompt_tokens, max_tokens, price)
        )
        if refused:
            raise BudgetExhausted(refused, needed=needed, left=left)
        return int(fits)

    def settle(self, key: str, cost: Decimal | None) -> None:
        import ray

        ray.get(self.keeper.settle.remote(self._try_key(key), cost))

    def _try_key(self, key: str) -> str:
        """The job's key with this try's tag (what the keeper files the call under)."""
        return f"{key}{TRY_MARK}{self.tag}"

    def look(self, provider: str) -> SharedHold | None:
        import ray

        hold: SharedHold | None = ray.get(self.keeper.look.remote(provider))
        return hold

    def tell(self, provider: str, hold: SharedHold | None) -> None:
        import ray

        ray.get(self.keeper.tell.remote(provider, hold))


def bill_lost_calls(ledger: Ledger, issue_id: int, calls: list[KeptCall]) -> None:
    """Write the calls of a job's lost tries under its issue: one settled at its cost, one in flight
    at its worst case (its provider may have billed it), an unpriced one unpriced."""
    for call in calls:
        settled = call.settled
        lost = "made by a Ray worker that was lost: its settled cost"
        reason = lost if settled else "in flight when its Ray worker was lost: worst case"
        record = CallRecord(
            turn=0,
            model=call.model or "unknown",
            effort_sent=None,
            usage=Usage(),
            cost_usd=call.cost_usd if settled else call.reserved_usd,
            price_source=call.price_source,
            duration_s=0.0,
            status="ok" if settled else "unsettled",
            reserved_usd=call.reserved_usd,
            cost_reason=reason,
            cost_basis="usage" if settled else "worst_case",
        )
        ledger.record_issue_call(issue_id, record, LOST_PURPOSE)


def keeper_on_this_node(batch: BatchBudget) -> Any:
    """The batch budget's actor, on the driver's own node: a node lost mid-batch must not take the
    batch's reservations with it (if the driver's node goes, so does the batch). A resumed run's
    earlier spend counts."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
    return ray.remote(BatchKeeper).options(scheduling_strategy=here, num_cpus=0).remote(batch.cap, batch.spent)
