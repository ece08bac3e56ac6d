"""The simulated population `sim-*` served by the fake provider, over the real Anthropic and OpenAI APIs.

`SimResponder` answers each request from the request alone, so the server keeps no session state:

- the task is the one whose issue text is in the first user message (the runner's
  `agent.engine.prompts.task_message`); an unknown issue gets a 400 that says so;
- the attempt number is how many earlier attempts the system prompt lists
  (`agent.engine.prompts.system_prompt`: "- Attempt N (rung) ended ..."), so a rung tried twice on
  one issue draws twice;
- the turn number is the number of assistant messages, the effort is `output_config.effort`
  (Anthropic) or `reasoning_effort` (OpenAI), the output cap is the request's `max_tokens`;
- the turn itself comes from `agent.simulate.sim_turns.sim_turn`; input tokens and the prompt cache
  are counted by the server from the real request, as for any script.

`start_sim(tasks)` starts a server for a suite's tasks and `sim_env(fake)` gives the environment
(`SIM_BASE_URL`, `SIM_API_KEY`) the shipped `[providers.sim]` reads, so `agent bench` runs against
it with no API key:

    with start_sim(load_tasks("builtin", home)) as fake:
        subprocess.run(["agent", "bench", "builtin", "--grid", "sim-flash,sim-frontier@low,max"],
                       env={**os.environ, **sim_env(fake)})
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from agent.core.effort import EffortLevel
from agent.core.errors import ConfigError
from agent.fake_provider.server import Api, FakeProvider, RequestRejected
from agent.simulate.population import Population, load_population
from agent.simulate.script import Fault, Script, ScriptedTurn
from agent.simulate.sim_turns import sim_turn
from tasks.models import Task

SIM_API_KEY = "sim-local-key"
"""Any non-empty key is accepted; this one says where it goes."""
_EARLIER_ATTEMPT = re.compile(r"^- Attempt \d+ \(", re.MULTILINE)


def _texts(content: Any) -> list[str]:
    """The text of a message's content, a string or a list of blocks."""
    if isinstance(content, str):
        return [content]
    blocks = content if isinstance(content, list) else []
    return [str(block.get("text", "")) for block in blocks if isinstance(block, dict)]


def system_text(api: Api, body: dict[str, Any]) -> str:
    if api == "anthropic":
        return "\n".join(_texts(body.get("system")))
    return "\n".join(text for message in _messages(body, "system") for text in _texts(message.get("content")))


def _messages(body: dict[str, Any], role: str) -> list[dict[str, Any]]:
    messages = body.get("messages")
    listed = messages if isinstance(messages, list) else []
    return [message for message in listed if isinstance(message, dict) and message.get("role") == role]


def first_user_text(body: dict[str, Any]) -> str:
    users = _messages(body, "user")
    return "\n".join(_texts(users[0].get("content"))) if users else ""


def earlier_attempts(system: str) -> int:
    """How many earlier attempts at the issue the system prompt lists."""
    return len(_EARLIER_ATTEMPT.findall(system))


def max_tokens_of(body: dict[str, Any]) -> int | None:
    value = body.get("max_tokens") or body.get("max_completion_tokens")
    return value if isinstance(value, int) else None


class SimResponder:
    """Answers requests for the population's models on the given tasks (a `server.Responder`)."""

    def __init__(self, population: Population, tasks: Sequence[Task]) -> None:
        self.population = population
        self.tasks = list(tasks)

    def match_task(self, text: str) -> Task:
        """The task whose issue text is in `text` (the longest such text when several are)."""
        found = [
            task for task in self.tasks if task.problem_statement.strip() and task.problem_statement.strip() in text
        ]
        if not found:
            raise RequestRejected(
                f"no task of this sim server ({len(self.tasks)} task(s)) has the issue in the first user message: "
                "start the server with the suite you bench (python -m agent.fake_provider --sim SUITE)"
            )
        return max(found, key=lambda task: len(task.problem_statement.strip()))

    def turn(self, api: Api, body: dict[str, Any], effort: str | None, index: int) -> ScriptedTurn:
        model = str(body.get("model", ""))
        if model not in self.population.models:
            known = ", ".join(sorted(self.population.models))
            raise RequestRejected(f"unknown sim model {model!r}: this population serves {known}")
        try:
            level = EffortLevel.parse(effort or "")
        except ConfigError as exc:
            raise RequestRejected(f"sim models need output_config.effort or reasoning_effort: {exc}") from None
        task = self.match_task(first_user_text(body))
        if not task.patch.strip():
            raise RequestRejected(f"task {task.instance_id} has no gold patch: sim models only run benchmark tasks")
        attempt = earlier_attempts(system_text(api, body))
        return sim_turn(self.population, task, model, level, attempt, index, max_tokens_of(body))


def start_sim(
    tasks: Sequence[Task],
    population: Population | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Sequence[Fault] = (),
) -> FakeProvider:
    """A started fake provider serving `population` (the shipped one when None) for `tasks`, with the
    script's `faults` injected (e.g. a storm of 429s); stop it with `stop()` or use it as a context manager."""
    responder = SimResponder(population or load_population(), tasks)
    return FakeProvider(Script(faults=list(faults)), responder=responder, host=host, port=port).start()


def sim_env(fake: FakeProvider) -> dict[str, str]:
    """What `[providers.sim]` reads: the server's base URL and a key."""
    return {"SIM_BASE_URL": fake.anthropic_base_url, "SIM_API_KEY": SIM_API_KEY}
