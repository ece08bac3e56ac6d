"""Drafting the generated suite: task `index` of seed `seed` is one template (each block of as many tasks
as there are templates holds every template once, in a seeded order) applied to a package name and
draws from `Random("generated-v1:SEED:INDEX")`, plus one to three filler modules.

Package names are unique in a suite (a name drawn twice gets the task's index appended), and every
issue text names its package, so no problem statement is another's or inside another's. Task `i`
depends only on the seed and the tasks before it: `generated:20` is the first 20 tasks of
`generated:300`.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from tasks.generated.bugs import boundary, empty_input, lookup, mutable_default, off_by_one, rounding, wrong_default
from tasks.generated.changes import memo_kwargs, swapped_args, syntax_error
from tasks.generated.features import feature_flag, merge_spans, rename, serialisation
from tasks.generated.fillers import draw_fillers
from tasks.generated.repos import RepoSpec
from tasks.generated.scenario import Template, lay_out
from tasks.models import Task

SCHEME = "generated-v1"
"""Bump when a template or the drafting changes what a seed gives."""
TEST_CMD = "python -m pytest -q"
TEMPLATES: tuple[Template, ...] = (
    boundary,
    off_by_one,
    wrong_default,
    empty_input,
    rounding,
    lookup,
    mutable_default,
    syntax_error,
    swapped_args,
    memo_kwargs,
    feature_flag,
    merge_spans,
    serialisation,
    rename,
)
_PREFIXES = (
    "amber",
    "birch",
    "cobalt",
    "delta",
    "ember",
    "fable",
    "granite",
    "harbor",
    "indigo",
    "juniper",
    "kestrel",
    "lumen",
    "maple",
    "nimbus",
    "onyx",
    "pebble",
    "quartz",
    "raven",
    "sable",
    "tundra",
    "umber",
    "velvet",
    "willow",
    "yarrow",
    "zephyr",
)
_SUFFIXES = (
    "ledger",
    "cart",
    "desk",
    "kit",
    "hub",
    "store",
    "track",
    "board",
    "forge",
    "works",
    "base",
    "line",
    "deck",
    "mint",
    "post",
    "yard",
)


@dataclass(frozen=True)
class Draft:
    """A generated task before its repository exists: the task (no base commit yet) and the repository's files."""

    task: Task
    repo: RepoSpec


def template_for(seed: int, index: int) -> Template:
    block = list(TEMPLATES)
    Random(f"{SCHEME}:{seed}:block:{index // len(TEMPLATES)}").shuffle(block)
    return block[index % len(TEMPLATES)]


def draft_tasks(count: int, seed: int) -> list[Draft]:
    """The first `count` tasks of seed `seed`."""
    used: set[str] = set()
    drafts = []
    for index in range(count):
        rng = Random(f"{SCHEME}:{seed}:{index}")
        package = rng.choice(_PREFIXES) + rng.choice(_SUFFIXES)
        if package in used:
            package += str(index)
        used.add(package)
        drafts.append(_draft(seed, index, package, rng))
    return drafts


def _draft(seed: int, index: int, package: str, rng: Random) -> Draft:
    scenario = template_for(seed, index)(rng, package)
    fillers = draw_fillers(package, rng)
    layout = lay_out(package, f"0.{rng.randint(1, 9)}.{rng.randint(0, 20)}", scenario, fillers)
    instance_id = f"gen{seed}-{index:04d}__{package}-{scenario.template.replace('_', '-')}"
    task = Task(
        instance_id=instance_id,
        repo=f"generated/{package}",
        base_commit="",
        problem_statement=scenario.problem_statement,
        patch=layout.patch,
        test_patch=layout.test_patch,
        FAIL_TO_PASS=layout.fail_to_pass,
        PASS_TO_PASS=layout.pass_to_pass,
        test_cmd=TEST_CMD,
        task_type=scenario.task_type,
        difficulty=scenario.difficulty,
        title=scenario.title,
        labels=[f"template:{scenario.template}"],
        source=f"generated:{seed} ({SCHEME})",
    )
    return Draft(task=task, repo=RepoSpec(name=instance_id, files=layout.base_files))
