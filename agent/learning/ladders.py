"""Choosing a ladder: the sequence of rungs with the lowest expected total cost per solved issue.

For a ladder r_1..r_n and a task of the type, with F_k = "rungs r_1..r_k all failed":
    E[$] = sum_k P(F_{k-1}) * (api_k + review_min_k * hourly_rate / 60)      (attempt k runs iff F_{k-1})
    P(solved) = 1 - P(F_n)        objective: E[$] / P(solved)
P(F_k) integrates the product of the failure probabilities over the task's difficulty, so it depends
only on the multiset of rungs tried, not their order: the search tabulates it once per multiset (at
most C(n+L, L) of them) and then walks every ordered ladder of length <= L (a rung at most
`max_repeats` times) depth-first in O(1) per ladder, pruning a prefix whose expected $ alone already
exceeds the worst of the `top` ladders kept (P(solved) <= 1 bounds every extension's cost per solved).

Constraints: the ladder's API $ if every rung runs (the sum of the rungs' expected $ per attempt)
stays within `max_api_usd`; and P(solved) is at most `max_solve_gap` below the best any allowed ladder
reaches. The gap exists because per solved issue, giving up early is cheap: an issue left unsolved
costs nothing in the objective yet someone still has to solve it. The default 0.05 keeps the learned
ladder within five points of the best solve rate. (A floor set by the best single attempt instead
lets one attempt at the strongest rung compete when review time dominates; measured on the sim grid
it chose cheap ladders whose solve rate the fit overestimated: 47% solved instead of 87%.)

Exploration (Thompson sampling): the abilities are drawn from their approximate posterior (costs stay
at their means), the search runs on the draw, and the first of its best `EXPLORE_POOL` ladders whose
cost per solved under the fitted estimates is within `explore_cap` of the greedy choice (and meets the
solve floor) is taken; when none is, the greedy choice stands. Given `rng`, the draw is reproducible.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import random
from dataclasses import dataclass
from itertools import combinations_with_replacement
from typing import Any

from agent.learning.estimates import Estimates, Vector

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

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, as the ledger records the decision."""
        return dataclasses.asdict(self)


@dataclass
class _World:
    """One task type's view of some rungs on the difficulty grid."""

    rungs: list[str]
    weights: Vector  # prior weights of the difficulty points
    fail: list[Vector]  # per rung: P(fail | d) at each point
    api: list[float]
    review: list[float]
    rate: float  # $ per review minute


@dataclass(frozen=True)
class _Scored:
    ladder: tuple[int, ...]
    usd_per_solved: float
    p_solved: float

    @property
    def rank(self) -> tuple[float, float, int, tuple[int, ...]]:
        """Lower is better: cost per solved, then more solved, then shorter."""
        return (round(self.usd_per_solved, 9), -round(self.p_solved, 12), len(self.ladder), self.ladder)


def _world(estimates: Estimates, task_type: str, rungs: list[str], hourly_rate: float) -> _World:
    _, weights = estimates.grid(task_type)
    costs = [estimates.cost(task_type, rung) for rung in rungs]
    return _World(
        rungs=rungs,
        weights=weights,
        fail=[1.0 - estimates.pass_curve(task_type, rung) for rung in rungs],
        api=[api or 0.0 for api, _ in costs],
        review=[review for _, review in costs],
        rate=hourly_rate / 60,
    )


class _Search:
    def __init__(self, world: _World, max_length: int, max_repeats: int, max_api: float | None) -> None:
        self.world, self.max_length, self.max_repeats, self.max_api = world, max_length, max_repeats, max_api
        self.vectors: dict[tuple[int, ...], Vector] = {(): world.weights}
        self.unsolved: dict[tuple[int, ...], float] = {(): 1.0}  # multiset tried -> P(all failed)

    def fits(self, multiset: tuple[int, ...]) -> bool:
        if self.max_api is None:
            return True
        return sum(self.world.api[r] for r in multiset) <= self.max_api + 1e-9

    def tabulate(self) -> float:
        """P(all failed) for every multiset within the limits; returns the best P(solved) any ladder reaches."""
        best = 0.0
        for length in range(1, self.max_length + 1):
            for multiset in combinations_with_replacement(range(len(self.world.rungs)), length):
                if max(multiset.count(r) for r in set(multiset)) > self.max_repeats or not self.fits(multiset):
                    continue
                vector = self.vectors[multiset[:-1]] * self.world.fail[multiset[-1]]
                self.vectors[multiset] = vector
                self.unsolved[multiset] = float(vector.sum())
                best = max(best, 1.0 - self.unsolved[multiset])
        return best

    def ranked(self, floor: float, keep: int) -> list[_Scored]:
        """The `keep` best ordered ladders with P(solved) >= floor."""
        world, kept = self.world, list[_Scored]()
        n = len(world.rungs)
        cost = [world.api[r] + world.review[r] * world.rate for r in range(n)]
        counts = [0] * n

        def visit(ladder: tuple[int, ...], multiset: tuple[int, ...], spent: float) -> None:
            reach = self.unsolved[multiset]
            for r in range(n):
                if counts[r] >= self.max_repeats:
                    continue
                grown = tuple(sorted((*multiset, r)))
                if grown not in self.unsolved:  # over the budget
                    continue
                total = spent + reach * cost[r]
                if len(kept) >= keep and total > kept[-1].usd_per_solved:
                    continue  # no extension can do better: P(solved) <= 1
                p_solved = 1.0 - self.unsolved[grown]
                longer = (*ladder, r)
                if p_solved >= floor - 1e-12 and p_solved > 0:
                    scored = _Scored(longer, total / p_solved, p_solved)
                    bisect.insort(kept, scored, key=lambda s: s.rank)
                    del kept[keep:]
                if len(longer) < self.max_length:
                    counts[r] += 1
                    visit(longer, grown, total)
                    counts[r] -= 1

        visit((), (), 0.0)
        return kept


def _candidate(estimates: Estimates, world: _World, task_type: str, ladder: tuple[int, ...]) -> Candidate:
    vector, per_rung, api, review = world.weights, [], 0.0, 0.0
    for r in ladder:
        rung = world.rungs[r]
        reach = float(vector.sum())
        after = vector * world.fail[r]
        api += reach * world.api[r]
        review += reach * world.review[r]
        unpriced = estimates.cost(task_type, rung)[0] is None
        per_rung.append(
            {
                "rung": rung,
                "p_reach": reach,
                "p_pass_given_failed": 1.0 - float(after.sum()) / reach if reach > 0 else 0.0,
                "attempts": estimates.attempts(task_type, rung),
                "api_usd": None if unpriced else world.api[r],
                "review_minutes": world.review[r],
                "thin": thin_note(estimates, task_type, rung),
            }
        )
        vector = after
    p_solved = 1.0 - float(vector.sum())
    total = api + review * world.rate
    per_solved = total / p_solved if p_solved > 0 else math.inf
    return Candidate([world.rungs[r] for r in ladder], p_solved, api, review, per_solved, per_rung)


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


def expected_outcome(estimates: Estimates, task_type: str, ladder: list[str], hourly_rate: float) -> Candidate:
    """The expected API $, review minutes, P(solved) and cost per solved of any ladder."""
    rungs = list(dict.fromkeys(ladder))
    world = _world(estimates, task_type, rungs, hourly_rate)
    return _candidate(estimates, world, task_type, tuple(rungs.index(rung) for rung in ladder))


def choose_ladder(
    estimates: Estimates,
    task_type: str,
    allowed: list[str],
    *,
    hourly_rate: float,
    max_api_usd: float | None = None,
    explore: bool = False,
    rng: random.Random | None = None,
    max_length: int = 4,
    top: int = 5,
    max_repeats: int = 3,
    max_solve_gap: float = 0.05,
    explore_cap: float = 0.10,
) -> Decision:
    """The ladder over `allowed` rungs with the lowest expected cost per solved issue (see the module
    docstring), or with `explore` a Thompson-sampled one costing at most `explore_cap` more."""
    rungs, notes = _usable(estimates, task_type, list(dict.fromkeys(allowed)))
    world = _world(estimates, task_type, rungs, hourly_rate)
    search = _Search(world, max_length, max_repeats, max_api_usd)
    best = search.tabulate()
    floor = best - max_solve_gap
    ranked = search.ranked(floor, max(top, 1))
    if not ranked:
        fits = f"no ladder of the {len(rungs)} usable rungs fits max_api_usd {max_api_usd}"
        notes.append(fits if rungs else "no usable rung")
        return Decision("greedy", task_type, [], [], False, notes)
    notes.append(f"P(solved) floor {floor:.4f}: the best reachable {best:.4f} less the gap {max_solve_gap}")
    candidates = [_candidate(estimates, world, task_type, scored.ladder) for scored in ranked[:top]]
    greedy = _candidate(estimates, world, task_type, ranked[0].ladder)
    chosen, policy = greedy, "greedy"
    if explore:
        policy = "thompson"
        chosen, why = _explore(estimates, task_type, search, greedy, (floor, max_solve_gap), explore_cap, rng)
        notes.append(why)
    if chosen.ladder not in [candidate.ladder for candidate in candidates]:
        candidates.append(chosen)
    return Decision(policy, task_type, chosen.ladder, candidates, chosen.ladder != greedy.ladder, notes)


def _explore(
    estimates: Estimates,
    task_type: str,
    search: _Search,
    greedy: Candidate,
    floor_and_gap: tuple[float, float],
    cap: float,
    rng: random.Random | None,
) -> tuple[Candidate, str]:
    """Thompson sampling: the best ladders of one draw of the abilities, the first of them within
    `cap` of the greedy cost per solved (and above the solve floor) under the fitted estimates."""
    floor, gap = floor_and_gap
    world = search.world
    drawn = _world(estimates.sample(rng or random.Random()), task_type, world.rungs, world.rate * 60)
    drawn_search = _Search(drawn, search.max_length, search.max_repeats, search.max_api)
    drawn_floor = drawn_search.tabulate() - gap
    limit = greedy.usd_per_solved * (1 + cap)
    for scored in drawn_search.ranked(drawn_floor, EXPLORE_POOL):
        candidate = _candidate(estimates, world, task_type, scored.ladder)
        if candidate.usd_per_solved <= limit + 1e-9 and candidate.p_solved >= floor - 1e-12:
            extra = candidate.usd_per_solved / greedy.usd_per_solved - 1
            ladder = ",".join(candidate.ladder)
            return candidate, f"thompson: sampled {ladder} at +{extra:.1%} per solved (cap {cap:.0%})"
    return greedy, f"thompson: no sampled ladder within +{cap:.0%} per solved; greedy kept"


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
