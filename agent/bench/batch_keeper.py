"""The batch cap on a Ray cluster: the batch budget as an actor on the driver's node (`BatchKeeper`), and
the `Batch` each worker's issue budgets reserve from (`KeeperProxy`). BudgetExhausted travels back as
a message, with what the refused call needed and what was left (an issue pauses on it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agent.bench.batch_budget import BatchBudget
from agent.core.errors import BudgetExhausted
from agent.providers.pricing import PriceQuote


class BatchKeeper:
    """The batch budget as a Ray actor; BudgetExhausted travels back as a message."""

    def __init__(self, cap: Decimal | None, spent: Decimal) -> None:
        self.budget = BatchBudget(cap, spent)

    def left(self) -> Decimal | None:
        return self.budget.left()

    def allow_for(
        self, key: str, own_left: Decimal | None, prompt_tokens: int, max_tokens: int, price: PriceQuote | None
    ) -> tuple[int, str, Decimal | None, Decimal | None]:
        try:
            return self.budget.allow_for(key, own_left, prompt_tokens, max_tokens, price), "", None, None
        except BudgetExhausted as exc:
            return 0, str(exc), exc.needed, exc.left

    def settle(self, key: str, cost: Decimal | None) -> None:
        self.budget.settle(key, cost)


class KeeperProxy:
    """A `Batch` in a Ray worker that asks the head's BatchKeeper actor."""

    def __init__(self, keeper: Any) -> None:
        self.keeper = keeper

    def left(self) -> Decimal | None:
        import ray

        left: Decimal | None = ray.get(self.keeper.left.remote())
        return left

    def allow_for(
        self, key: str, own_left: Decimal | None, prompt_tokens: int, max_tokens: int, price: PriceQuote | None
    ) -> int:
        import ray

        fits, refused, needed, left = ray.get(
            self.keeper.allow_for.remote(key, own_left, prompt_tokens, max_tokens, price)
        )
        if refused:
            raise BudgetExhausted(refused, needed=needed, left=left)
        return int(fits)

    def settle(self, key: str, cost: Decimal | None) -> None:
        import ray

        ray.get(self.keeper.settle.remote(key, cost))


def keeper_on_this_node(batch: BatchBudget) -> Any:
    """The batch budget's actor, on the driver's own node: a node lost mid-batch must not take the
    batch's reservations with it (if the driver's node goes, so does the batch). A resumed run's
    earlier spend counts."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
    return ray.remote(BatchKeeper).options(scheduling_strategy=here, num_cpus=0).remote(batch.cap, batch.spent)
