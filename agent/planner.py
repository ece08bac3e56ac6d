"""The planner: classifies an issue into a task type and turns it into a ladder of rungs.

Rules over the issue text, labels and size decide by default; a cheap model may classify
instead when `planner.classifier_model` is set. The decision records who made it and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pydantic import BaseModel

from agent.config import AgentConfig, PlannerConfig
from agent.effort import EffortLevel, Rung, climb, parse_ladder
from agent.errors import AgentError, ConfigError
from agent.messages import Message
from agent.protocols import Model

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


def classify_with_model(model: Model, text: str) -> Classification | None:
    """Ask a cheap model for one task type name; None when its answer is not one."""
    prompt = (
        "Classify this software issue as exactly one of: "
        + ", ".join(TASK_TYPES)
        + ". Answer with the name only.\n\n"
        + text[:6000]
    )
    turn = model.complete(
        [Message.user(prompt)], system="You classify issues.", tools=[], effort=EffortLevel.LOW, max_tokens=64
    )
    words = re.findall(r"[a-z_]+", turn.text.lower())
    for word in words:
        if word in TASK_TYPES:
            return Classification(task_type=word, reason=f"{model.name} answered {word}", decided_by="model")
    return None


def classify(
    text: str,
    labels: list[str],
    planner: PlannerConfig,
    model_factory: Callable[[str, None], Model] | None = None,
) -> Classification:
    if planner.classifier_model and model_factory is not None:
        try:
            decided = classify_with_model(model_factory(planner.classifier_model, None), text)
        except AgentError:
            decided = None
        if decided is not None:
            return decided
    return classify_by_rules(text, labels)


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


class Plan(BaseModel):
    classification: Classification
    ladder: list[Rung]
    ladder_source: str  # planner | --ladder | --model


def plan_ladder(
    classification: Classification,
    config: AgentConfig,
    ladder_spec: str | None = None,
    model: str | None = None,
    effort: EffortLevel | None = None,
) -> Plan:
    """The ladder a run will climb: --ladder exactly, --model from --effort up to max, else planner."""
    if ladder_spec and model:
        raise ConfigError("use either --ladder or --model, not both")
    if ladder_spec:
        return Plan(classification=classification, ladder=parse_ladder(ladder_spec), ladder_source="--ladder")
    if model:
        start = effort or config.planner.task_types.get(classification.task_type, None)
        level = start if isinstance(start, EffortLevel) else (start.start if start else EffortLevel.MEDIUM)
        return Plan(classification=classification, ladder=climb(model, level), ladder_source="--model")
    if effort:
        raise ConfigError("--effort needs --model: name the model to run at that effort")
    return Plan(
        classification=classification,
        ladder=ladder_for(classification.task_type, config),
        ladder_source="planner",
    )
