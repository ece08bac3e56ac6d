"""Choosing a ladder: the sequence of rungs with the lowest expected total cost of an issue, counting
the issue left unsolved at its price V.

For a ladder r_1..r_n and a task of the type, with F_k = "rungs r_1..r_k all failed":
    E[total] = sum_k P(F_{k-1}) * api_k                                  (attempt k runs iff F_{k-1})
             + review $ (each_attempt: sum_k P(F_{k-1}) * review_k;  delivered: sum_k (P(F_{k-1}) - P(F_k)) * review_k)
             + V * P(F_n)                                                (unsolved: someone still has to fix it)
with review_k = the rung's review minutes x hourly rate / 60. This is optimal stopping: the only thing
a climb learns before rung k is that the rungs before it failed, so the best adaptive policy is a
fixed ladder that stops where trying the next rung, P(pass | all failed so far) x V (and what rungs
after it add), is worth less than its expected cost; the search weighs every stopping point, no
floor on P(solved) needed. P(F_k) integrates the product of the failure probabilities over the
task's difficulty and the posterior draws (`Estimates`), so a ladder is judged by its posterior
expected total, not by a plug-in estimate, and depends on the multiset of rungs tried only: the search
tabulates P(F) once per multiset of length 1..L (a rung at most `max_repeats` times; at most C(n+L, L)
of them), and finds the cheapest order of each multiset by dynamic programming over multisets (the
$ of a ladder is a sum of terms that each depend on one prefix's multiset only); the candidates shown
are the best `top` multisets, each in its cheapest order.

Constraint: the ladder's API $ if every rung runs (the sum of the rungs' expected $ per attempt)
stays within `max_api_usd`.

Exploration (Thompson sampling): one posterior draw (`Estimates.sample`), the search on it, and the
first of its best `EXPLORE_POOL` ladders whose expected total under the full posterior is within
`explore_cap` (a share) of the greedy choice's; when none is, the greedy choice stands. Given `rng`,
the draw is reproducible.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import random
from dataclasses import dataclass
from itertools import combinations_with_replacement
from typing import Any, Literal

from agent.learning.estimates import Estimates, Vector

ReviewBill = Literal["each_attempt", "delivered"]
"""Whose review is billed: every attempt's (`[review] bill = "each_attempt"`) or the delivered patch's only."""

THIN_DATA = 10
"""Fewer attempts than this of a type at a rung get a "thin data" note."""
EXPLORE_POOL = 20
"""How many of the sampled world's best ladders exploration looks through for one within the cap."""


@dataclass(frozen=True)
class Candidate:
    ladder: list[str]
    p_solved: float
    api_usd: float  # expected API $ per issue (unpriced rungs count $0, and say so in `per_rung`)
    review_minutes: float  # expected billed review minutes per issue
    expected_total_usd: float  # api_usd + review_minutes x hourly rate / 60 + V x (1 - p_solved): what is minimised
    usd_per_solved: float  # (api_usd + review_minutes x hourly rate / 60) / p_solved; inf when p_solved is 0
    per_rung: list[dict[str, Any]]  # rung, p_reach, p_pass_given_failed, attempts, api_usd, review_minutes, thin


@dataclass(frozen=True)
class Decision:
    policy: str  # "greedy" | "thompson"
    task_type: str
    ladder: list[str]  # empty: no allowed ladder fits the constraints (see notes)
    candidates: list[Candidate]  # the best `top` under the fitted estimates, and the chosen one
    explored: bool  # the chosen ladder is not the greedy one
    notes: list[str]
    unsolved_usd: float = 0.0  # V, the price of an unsolved issue the choice was made at

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, as the ledger records the decision."""
        return dataclasses.asdict(self)

    @property
    def chosen(self) -> Candidate | None:
        return next((candidate for candidate in self.candidates if candidate.ladder == self.ladder), None)


@dataclass
class _World:
    """One task type's view of some rungs on the difficulty x posterior grid."""

    rungs: list[str]
    weights: Vector  # prior weights of the points
    fail: list[Vector]  # per rung: P(fail | point) at each point
    api: list[float]
    minutes: list[float]  # review minutes of one attempt with a change
    per_minute: float  # review $ per minute
    unsolved: float  # V
    delivered: bool  # review billed for the passing attempt only

    def cost(self, r: int, reach: float, after: float) -> float:
        """Expected $ of trying rung r when the ladder reaches it with P `reach` and fails it with P `after`."""
        reviewed = reach - after if self.delivered else reach
        return reach * self.api[r] + reviewed * self.minutes[r] * self.per_minute


@dataclass(frozen=True)
class _Scored:
    ladder: tuple[int, ...]
    total: float
    p_solved: float

    @property
    def rank(self) -> tuple[float, float, int, tuple[int, ...]]:
        """Lower is better: expected total, then more solved, then shorter."""
        return (round(self.total, 9), -round(self.p_solved, 12), len(self.ladder), self.ladder)


def _world(
    estimates: Estimates, task_type: str, rungs: list[str], economics: tuple[float, float, ReviewBill]
) -> _World:
    hourly_rate, unsolved_usd, bill = economics
    _, weights = estimates.grid(task_type)
    costs = [estimates.cost(task_type, rung) for rung in rungs]
    return _World(
        rungs=rungs,
        weights=weights,
        fail=[1.0 - estimates.pass_curve(task_type, rung) for rung in rungs],
        api=[api or 0.0 for api, _ in costs],
        minutes=[minutes for _, minutes in costs],
        per_minute=hourly_rate / 60,
        unsolved=unsolved_usd,
        delivered=bill == "delivered",
    )


class _Search:
    def __init__(self, world: _World, max_length: int, max_repeats: int, max_api: float | None) -> None:
        self.world, self.max_length, self.max_repeats, self.max_api = world, max_length, max_repeats, max_api
        self.unsolved: dict[tuple[int, ...], float] = {(): 1.0}  # multiset tried -> P(all failed)

    def fits(self, multiset: tuple[int, ...]) -> bool:
        if max(multiset.count(r) for r in set(multiset)) > self.max_repeats:
            return False
        return self.max_api is None or sum(self.world.api[r] for r in multiset) <= self.max_api + 1e-9

    def tabulate(self) -> None:
        """P(all failed) for every multiset within the limits, a length at a time (the vectors of the
        length before are all the next one needs)."""
        vectors: dict[tuple[int, ...], Vector] = {(): self.world.weights}
        for length in range(1, self.max_length + 1):
            longer: dict[tuple[int, ...], Vector] = {}
            for multiset in combinations_with_replacement(range(len(self.world.rungs)), length):
                if multiset[:-1] in vectors and self.fits(multiset):
                    longer[multiset] = vectors[multiset[:-1]] * self.world.fail[multiset[-1]]
                    self.unsolved[multiset] = float(longer[multiset].sum())
            vectors = longer

    def ranked(self, keep: int) -> list[_Scored]:
        """The cheapest order of each multiset, the `keep` best of them by expected total. A ladder's $
        is a sum of terms that each depend on one prefix's multiset only, so the cheapest order of a
        multiset extends the cheapest order of one of the multisets a rung shorter (dynamic programming)."""
        world = self.world
        orders: dict[tuple[int, ...], tuple[float, tuple[int, ...]]] = {(): (0.0, ())}
        for multiset in sorted(self.unsolved, key=len)[1:]:
            after, best = self.unsolved[multiset], None
            for position, r in enumerate(multiset):
                if position and multiset[position - 1] == r:
                    continue  # one shorter multiset per distinct rung
                before = multiset[:position] + multiset[position + 1 :]
                paid, ladder = orders[before]
                option = (round(paid + world.cost(r, self.unsolved[before], after), 12), (*ladder, r))
                best = option if best is None or option < best else best
            assert best is not None
            orders[multiset] = best
        scored = (
            _Scored(ladder, paid + world.unsolved * self.unsolved[multiset], 1.0 - self.unsolved[multiset])
            for multiset, (paid, ladder) in orders.items()
            if multiset
        )
        return heapq.nsmallest(keep, scored, key=lambda s: s.rank)


def _candidate(estimates: Estimates, world: _World, task_type: str, ladder: tuple[int, ...]) -> Candidate:
    vector, per_rung, api, review = world.weights, [], 0.0, 0.0
    for r in ladder:
        rung = world.rungs[r]
        reach = float(vector.sum())
        after = vector * world.fail[r]
        api += reach * world.api[r]
        review += (reach - float(after.sum()) if world.delivered else reach) * world.minutes[r]
        unpriced = estimates.cost(task_type, rung)[0] is None
        per_rung.append(
            {
                "rung": rung,
                "p_reach": reach,
                "p_pass_given_failed": 1.0 - float(after.sum()) / reach if reach > 0 else 0.0,
                "attempts": estimates.attempts(task_type, rung),
                "api_usd": None if unpriced else world.api[r],
                "review_minutes": world.minutes[r],
                "thin": thin_note(estimates, task_type, rung),
            }
        )
        vector = after
    p_solved = 1.0 - float(vector.sum())
    spent = api + review * world.per_minute
    per_solved = spent / p_solved if p_solved > 0 else math.inf
    total = spent + world.unsolved * (1.0 - p_solved)
    return Candidate([world.rungs[r] for r in ladder], p_solved, api, review, total, per_solved, per_rung)


def thin_note(estimates: Estimates, task_type: str, rung: str) -> str | None:
    """Says how little data is behind a rung's estimate for a type, or None when there is enough."""
    attempts = estimates.attempts(task_type, rung)
    if attempts >= THIN_DATA:
        return None
    pooled = estimates.pooled_attempts(rung)
    note = f"{attempts} attempts of {task_type} at {rung}"
    if pooled == 0:
        return f"{note}: the prior decides"
    return f"{note} ({pooled} over all task types)" if pooled != attempts else note


def expected_outcome(
    estimates: Estimates,
    task_type: str,
    ladder: list[str],
    hourly_rate: float,
    unsolved_usd: float = 0.0,
    review_bill: ReviewBill = "each_attempt",
) -> Candidate:
    """The expected API $, review minutes, P(solved), total and cost per solved of any ladder."""
    rungs = list(dict.fromkeys(ladder))
    world = _world(estimates, task_type, rungs, (hourly_rate, unsolved_usd, review_bill))
    return _candidate(estimates, world, task_type, tuple(rungs.index(rung) for rung in ladder))


def choose_ladder(
    estimates: Estimates,
    task_type: str,
    allowed: list[str],
    *,
    hourly_rate: float,
    unsolved_usd: float,
    review_bill: ReviewBill = "each_attempt",
    max_api_usd: float | None = None,
    explore: bool = False,
    rng: random.Random | None = None,
    max_length: int = 5,
    top: int = 5,
    max_repeats: int = 3,
    explore_cap: float = 0.10,
) -> Decision:
    """The ladder over `allowed` rungs with the lowest expected total cost, V x P(unsolved) included
    (see the module docstring), or with `explore` a Thompson-sampled one costing at most `explore_cap` more."""
    rungs, notes = _usable(estimates, task_type, list(dict.fromkeys(allowed)))
    economics = (hourly_rate, unsolved_usd, review_bill)
    world = _world(estimates, task_type, rungs, economics)
    search = _Search(world, max_length, max_repeats, max_api_usd)
    search.tabulate()
    ranked = search.ranked(max(top, 1))
    if not ranked:
        fits = f"no ladder of the {len(rungs)} usable rungs fits max_api_usd {max_api_usd}"
        notes.append(fits if rungs else "no usable rung")
        return Decision("greedy", task_type, [], [], False, notes, unsolved_usd)
    candidates = [_candidate(estimates, world, task_type, scored.ladder) for scored in ranked[:top]]
    greedy = candidates[0]
    notes.append(_stopping_note(search, ranked[0].ladder, unsolved_usd))
    chosen, policy = greedy, "greedy"
    if explore:
        policy = "thompson"
        chosen, why = _explore(estimates, task_type, search, greedy, explore_cap, rng)
        notes.append(why)
    if chosen.ladder not in [candidate.ladder for candidate in candidates]:
        candidates.append(chosen)
    return Decision(policy, task_type, chosen.ladder, candidates, chosen.ladder != greedy.ladder, notes, unsolved_usd)


def _stopping_note(search: _Search, ladder: tuple[int, ...], unsolved_usd: float) -> str:
    """Why the ladder stops where it does: what the best next rung would add against its cost."""
    world, multiset = search.world, tuple(sorted(ladder))
    reach = search.unsolved[multiset]
    stop = f"V ${unsolved_usd:g}: stops after {len(ladder)} rung(s) with P(unsolved) {reach:.3f}"
    if len(ladder) >= search.max_length:
        return f"{stop} (the longest ladder searched)"
    nexts = [
        (r, tuple(sorted((*multiset, r)))) for r in range(len(world.rungs)) if ladder.count(r) < search.max_repeats
    ]
    worth = [
        (world.unsolved * (reach - search.unsolved[grown]) - world.cost(r, reach, search.unsolved[grown]), r)
        for r, grown in nexts
        if grown in search.unsolved
    ]
    if not worth:
        return stop
    net, r = max(worth)
    return f"{stop}; one more attempt at {world.rungs[r]} would add ${net:+.4f} (expected V saved less its cost)"


def _explore(
    estimates: Estimates,
    task_type: str,
    search: _Search,
    greedy: Candidate,
    cap: float,
    rng: random.Random | None,
) -> tuple[Candidate, str]:
    """Thompson sampling: the best ladders of one posterior draw, the first of them within `cap` of
    the greedy expected total under the full posterior."""
    world = search.world
    economics = (world.per_minute * 60, world.unsolved, "delivered" if world.delivered else "each_attempt")
    drawn = _world(estimates.sample(rng or random.Random()), task_type, world.rungs, economics)  # type: ignore[arg-type]
    drawn_search = _Search(drawn, search.max_length, search.max_repeats, search.max_api)
    drawn_search.tabulate()
    limit = greedy.expected_total_usd * (1 + cap)
    for scored in drawn_search.ranked(EXPLORE_POOL):
        candidate = _candidate(estimates, world, task_type, scored.ladder)
        if candidate.expected_total_usd <= limit + 1e-9:
            extra = candidate.expected_total_usd / greedy.expected_total_usd - 1 if greedy.expected_total_usd else 0.0
            ladder = ",".join(candidate.ladder)
            return candidate, f"thompson: sampled {ladder} at {extra:+.1%} expected total (cap {cap:.0%})"
    return greedy, f"thompson: no sampled ladder within +{cap:.0%} expected total; greedy kept"


def _usable(estimates: Estimates, task_type: str, allowed: list[str]) -> tuple[list[str], list[str]]:
    """The allowed rungs the search can weigh, and notes on those it cannot."""
    notes = [
        f"{rung}: no estimate (not in the prior or the data); left out" for rung in allowed if not estimates.knows(rung)
    ]
    known = [rung for rung in allowed if estimates.knows(rung)]
    priced = [rung for rung in known if estimates.cost(task_type, rung)[0] is not None]
    if priced and len(priced) < len(known):
        notes += [f"{rung}: API $ unknown (unpriced); left out" for rung in known if rung not in priced]
        return priced, notes
    if known and not priced:
        notes.append("API $ unknown for every allowed rung: the choice weighs review time and solve rate only")
    return known, notes
