"""The planner: classifies an issue into a task type and turns it into a ladder of rungs.

Rules over the issue text, labels and size decide by default; a cheap model may classify
instead when `planner.classifier_model` is set. The decision records who made it and why, and
the classifier's calls, which the run records under the issue like every model call (priced, and
charged to the issue's budget, whatever the model answered). Given the run's recorder, each call has
its row under the run, pending, before it is sent; the issue claims it when it opens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from pydantic import BaseModel, Field

from agent.core.config import AgentConfig, PlannerConfig
from agent.core.effort import EffortLevel, Rung, climb, parse_ladder
from agent.core.errors import AgentError, BudgetExhausted, ConfigError
from agent.core.messages import Message
from agent.core.protocols import Model
from agent.engine.budget import Budget, tokens_at_most
from agent.engine.calling.metered import MeteredModel
from agent.engine.calling.meters import KeptCalls, RunRecorder
from agent.ledger import CallRecord
from agent.ledger.facts import CallSent, CallSettled
from agent.providers.pricing import PriceQuote

TASK_TYPES = (
    "syntax_fix",
    "boilerplate",
    "bug_fix",
    "feature",
    "multi_file_refactor",
    "complex_bug",
    "architecture",
    "test_writing",
)

# Words that point at a task type, with their weights. Checked case-insensitively.
KEYWORDS: dict[str, list[tuple[str, int]]] = {
    "syntax_fix": [
        (r"syntaxerror", 4),
        (r"indentationerror", 4),
        (r"\btypo\b", 2),
        (r"missing (colon|paren|bracket|quote)", 3),
        (r"does not (even )?(import|compile|parse)", 3),
        (r"nameerror", 2),
        (r"invalid syntax", 4),
    ],
    "boilerplate": [
        (r"boilerplate", 4),
        (r"scaffold", 3),
        (r"\b__repr__\b|\b__eq__\b", 2),
        (r"docstrings?\b", 2),
        (r"type hints?", 2),
        (r"\bstub\b", 2),
        (r"add (a )?license", 3),
    ],
    "bug_fix": [
        (r"\bbug\b", 2),
        (r"traceback", 2),
        (r"\berror\b", 1),
        (r"\bwrong\b", 2),
        (r"incorrect", 2),
        (r"expected", 1),
        (r"\bactual\b", 1),
        (r"crash", 2),
        (r"off[- ]by[- ]one", 3),
        (r"\bfails?\b", 1),
        (r"regression", 2),
        (r"instead of", 1),
        (r"returns?\b", 1),
    ],
    "feature": [
        (r"feature request", 4),
        (r"add support", 3),
        (r"\bsupport for\b", 2),
        (r"would be (nice|great|useful)", 3),
        (r"\bnew (option|flag|command|function|parameter|argument)", 3),
        (r"\bimplement\b", 2),
        (r"\ballow\b", 1),
        (r"please add", 3),
        (r"\bproposal\b", 2),
        (r"\bspec(ification)?\b", 1),
    ],
    "multi_file_refactor": [
        (r"\brename\b", 3),
        (r"\brefactor", 4),
        (r"across (the|all|several|multiple) (files|modules)", 3),
        (r"\bmove\b.*\bto\b", 1),
        (r"\bextract\b", 2),
        (r"deprecat", 2),
        (r"every (call site|caller)", 3),
    ],
    "complex_bug": [
        (r"race condition", 5),
        (r"concurren", 3),
        (r"\bthreads?\b", 2),
        (r"deadlock", 5),
        (r"intermittent", 4),
        (r"\bflaky\b", 3),
        (r"memory leak", 4),
        (r"\bsometimes\b", 2),
        (r"\bstale\b", 2),
        (r"cache invalidation", 3),
        (r"non-?deterministic", 4),
        (r"shared state", 3),
    ],
    "architecture": [
        (r"architecture", 4),
        (r"redesign", 4),
        (r"re-?architect", 5),
        (r"plugin system", 4),
        (r"overhaul", 3),
        (r"decouple", 3),
        (r"\bdesign\b", 1),
    ],
    "test_writing": [
        (r"(write|add|missing|more) (unit )?tests", 5),
        (r"test coverage", 4),
        (r"\buntested\b", 3),
        (r"regression test", 2),
        (r"no tests? for", 4),
    ],
}

LABELS = {
    "bug": "bug_fix",
    "feature": "feature",
    "enhancement": "feature",
    "refactor": "multi_file_refactor",
    "refactoring": "multi_file_refactor",
    "tests": "test_writing",
    "testing": "test_writing",
    "architecture": "architecture",
    "syntax": "syntax_fix",
    "concurrency": "complex_bug",
    "race-condition": "complex_bug",
}

LONG_ISSUE_CHARS = 4000


class Classification(BaseModel):
    task_type: str
    reason: str
    decided_by: str  # rules | model | task | user
    calls: list[CallRecord] = Field(default_factory=list)
    """The classifier model's calls behind this decision, answered or not; the issue records them, or
    claims the rows they already have (`classifier_fact`). Empty when no model was asked."""


def classifier_fact(call: CallRecord, issue_id: int) -> CallSent | CallSettled:
    """The fact that puts a classifier call under its issue: the issue claims the row the call has
    under its run (written before it was sent), or records it when it has none."""
    if call.call_id is not None:
        return CallSettled(call_id=call.call_id, record=call, issue_id=issue_id)
    return CallSent(record=call, issue_id=issue_id, purpose="classify")


def classify_by_rules(text: str, labels: list[str] | None = None) -> Classification:
    """Score every task type by keywords and labels; the highest score wins (ties: bug_fix)."""
    lowered = text.lower()
    scores = dict.fromkeys(TASK_TYPES, 0)
    hits: dict[str, list[str]] = {task_type: [] for task_type in TASK_TYPES}
    for task_type, words in KEYWORDS.items():
        for pattern, weight in words:
            match = re.search(pattern, lowered)
            if match:
                scores[task_type] += weight
                hits[task_type].append(repr(match.group(0)))
    for label in labels or []:
        labelled = LABELS.get(label.lower())
        if labelled:
            scores[labelled] += 6
            hits[labelled].append(f"label {label!r}")
    best = max(TASK_TYPES, key=lambda task_type: (scores[task_type], task_type == "bug_fix"))
    if scores[best] == 0:
        return Classification(task_type="bug_fix", reason="no telling words; bug_fix by default", decided_by="rules")
    reason = f"matched {', '.join(hits[best])}"
    if best == "bug_fix" and len(text) > LONG_ISSUE_CHARS:
        return Classification(
            task_type="complex_bug", reason=f"{reason}; long report ({len(text)} chars)", decided_by="rules"
        )
    return Classification(task_type=best, reason=reason, decided_by="rules")


CLASSIFIER_SYSTEM = "You classify issues."
CLASSIFIER_MAX_TOKENS = 64


def classifier_prompt(text: str) -> str:
    return (
        "Classify this software issue as exactly one of: "
        + ", ".join(TASK_TYPES)
        + ". Answer with the name only.\n\n"
        + text[:6000]
    )


def classify_with_model(
    model: Model,
    text: str,
    price: PriceQuote | None = None,
    budget: Budget | None = None,
    run: RunRecorder | None = None,
) -> tuple[str | None, CallRecord | None, str]:
    """Ask a cheap model for one task type name.

    Returns the task type (None when the answer is not one, or there was no answer), the call as
    the ledger records it (None when `budget` left no room to make it) and what happened, in words.
    The call is priced with `price` and charged to `budget` whatever it answered; with `run`, its
    row is written under the run before it is sent.
    """
    prompt = classifier_prompt(text)
    level, _ = model.effort_for(EffortLevel.LOW)
    kept = KeptCalls(run=run)
    metered = MeteredModel(
        model, price, budget, kept, lambda *_: tokens_at_most(len(CLASSIFIER_SYSTEM) + len(prompt)), (AgentError,)
    )
    try:
        turn = metered.complete(
            [Message.user(prompt)], system=CLASSIFIER_SYSTEM, tools=[], effort=level, max_tokens=CLASSIFIER_MAX_TOKENS
        )
    except BudgetExhausted as exc:
        return None, None, f"not asked: {exc}"
    except AgentError as exc:
        return None, kept.calls[0], f"failed: {exc}"
    record = kept.calls[0]
    for word in re.findall(r"[a-z_]+", turn.text.lower()):
        if word in TASK_TYPES:
            return word, record, f"answered {word}"
    return None, record, f"answered {turn.text.strip()[:40]!r}, not a task type"


def classify(
    text: str,
    labels: list[str],
    planner: PlannerConfig,
    model_factory: Callable[[str, None], Model] | None = None,
    price_for: Callable[[str], PriceQuote | None] | None = None,
    budget: Budget | None = None,
    run: RunRecorder | None = None,
) -> Classification:
    """The issue's task type: the classifier model's answer when one is set and names a task type,
    else the rules'. `agent fix`, `agent bench` and mining classify here; the calls made are in the
    result's `calls`, priced with `price_for`, charged to `budget` (the issue's) and, with `run`,
    recorded under the run before they are sent."""
    if not planner.classifier_model or model_factory is None:
        return classify_by_rules(text, labels)
    try:
        model = model_factory(planner.classifier_model, None)
    except AgentError as exc:
        return _rules_after(text, labels, f"classifier {planner.classifier_model} unavailable: {exc}", [])
    price = price_for(model.name) if price_for is not None else None
    task_type, call, what = classify_with_model(model, text, price, budget, run)
    calls = [call] if call is not None else []
    if task_type is not None:
        return Classification(task_type=task_type, reason=f"{model.name} {what}", decided_by="model", calls=calls)
    return _rules_after(text, labels, f"classifier {model.name} {what}", calls)


def _rules_after(text: str, labels: list[str], why: str, calls: list[CallRecord]) -> Classification:
    """The rules' decision when the classifier model gave none, saying why, with its calls."""
    rules = classify_by_rules(text, labels)
    return rules.model_copy(update={"reason": f"{rules.reason}; {why}", "calls": calls})


def ladder_for(task_type: str, config: AgentConfig) -> list[Rung]:
    """The configured ladder of a task type: climb effort to max on each model in order."""
    planner = config.planner
    if task_type not in planner.task_types:
        raise ConfigError(f"no ladder for task type {task_type!r}: add [planner.task_types.{task_type}]")
    entry = planner.task_types[task_type]
    if entry.ladder:
        return parse_ladder(entry.ladder)
    models = entry.models or planner.model_order
    if not models:
        raise ConfigError("planner.model_order is empty: name at least one model")
    rungs: list[Rung] = []
    for model in models:
        rungs.extend(climb(model, entry.start))
    return rungs


class NoUsableModel(ConfigError):
    """No model of the planner's ladder can run here (no provider has a key)."""


RungFit = Callable[[Rung], "tuple[Rung, str | None]"]
"""The rung at the effort level its provider honours, and why its model cannot run here (None: it can)."""


class LadderChoice(BaseModel):
    """The ladder chosen for an issue and why: its classification, the rungs, the policy that chose them."""

    classification: Classification
    ladder: list[Rung]
    ladder_source: str  # planner | learned | --ladder | --model | grid
    left_out: list[str] = []
    """Models the planner left out of its ladder, each with the reason (e.g. a missing API key)."""
    decision: dict[str, Any] | None = None
    """The learned policy's decision (its candidates, estimates and notes), when it was asked."""


class LadderChooser(Protocol):
    """The learned policy (`agent.engine.learned.LearnedPlanner`), as the planner sees it."""

    allowed: list[Rung]

    def decide(
        self, task_type: str, rules_ladder: list[Rung], max_api_usd: Decimal | None
    ) -> tuple[list[Rung], dict[str, Any]]: ...

    def observe(self, observations: list[Any]) -> None:
        """Refit with a batch's newly measured attempts (`agent.learning.Observation`s)."""


def allowed_rungs(config: AgentConfig, fit: RungFit | None) -> tuple[list[Rung], list[str]]:
    """Every rung the configuration allows a learned ladder to use: each model the planner climbs,
    at each effort its provider honours; models that cannot run here are left out (and named)."""
    models: list[str] = list(config.planner.model_order)
    for entry in config.planner.task_types.values():
        models += [name for name in entry.models or [] if name not in models]
        named = parse_ladder(entry.ladder) if entry.ladder else []
        models += [rung.model for rung in named if rung.model not in models]
    rungs = [Rung(model=model, effort=level) for model in models for level in EffortLevel]
    if fit is None:
        return rungs, []
    return fit_ladder(rungs, fit, drop_unusable=True)


def fit_ladder(ladder: list[Rung], fit: RungFit, *, drop_unusable: bool) -> tuple[list[Rung], list[str]]:
    """Each rung at the level its provider honours; models that cannot run here are dropped (or kept,
    for the check before a run to report, or for `agent plan` to show). A rung that lands on one
    already kept from a different asked rung is dropped; a rung the ladder repeats on purpose
    (`m@low*2`) stays repeated."""
    kept: list[Rung] = []
    asked: dict[Rung, Rung] = {}
    left_out: dict[str, str] = {}
    for rung in ladder:
        fitted, unusable = fit(rung)
        if unusable is not None and drop_unusable:
            left_out.setdefault(rung.model, f"{rung.model} ({unusable})")
        elif asked.setdefault(fitted, rung) == rung:
            kept.append(fitted)
    if not kept:
        raise NoUsableModel(
            f"no model of the planner's ladder can run here: {'; '.join(left_out.values())}: "
            "set one of those keys, or try `agent demo` (no key needed)"
        )
    return kept, list(left_out.values())


def plan_ladder(
    classification: Classification,
    config: AgentConfig,
    ladder_spec: str | None = None,
    model: str | None = None,
    effort: EffortLevel | None = None,
    fit: RungFit | None = None,
    require_usable: bool = True,
    learned: LadderChooser | None = None,
    max_api_usd: Decimal | None = None,
) -> LadderChoice:
    """The ladder a run will climb: --ladder exactly, --model from --effort up to max, else planner.

    With `fit`, the planner's ladder keeps only models that can run here (their provider has a
    key; unless not `require_usable`), and generated ladders list each rung at the level its
    provider honours, once.
    """
    if ladder_spec and model:
        raise ConfigError("use either --ladder or --model, not both")
    if ladder_spec:
        return LadderChoice(classification=classification, ladder=parse_ladder(ladder_spec), ladder_source="--ladder")
    if model:
        start = effort or config.planner.task_types.get(classification.task_type, None)
        level = start if isinstance(start, EffortLevel) else (start.start if start else EffortLevel.MEDIUM)
        rungs = climb(model, level)
        if fit is not None:
            rungs, _ = fit_ladder(rungs, fit, drop_unusable=False)
        return LadderChoice(classification=classification, ladder=rungs, ladder_source="--model")
    if effort:
        raise ConfigError("--effort needs --model: name the model to run at that effort")
    rungs, left_out = ladder_for(classification.task_type, config), list[str]()
    if fit is not None:
        rungs, left_out = fit_ladder(rungs, fit, drop_unusable=require_usable)
    if learned is None:
        return LadderChoice(classification=classification, ladder=rungs, ladder_source="planner", left_out=left_out)
    chosen, decision = learned.decide(classification.task_type, rungs, max_api_usd)
    source = "learned" if decision.get("chosen_by") == "learned" else "planner"
    return LadderChoice(
        classification=classification, ladder=chosen, ladder_source=source, left_out=left_out, decision=decision
    )
