"""Time model round trips against the fake provider: the real SDKs, streaming, over local HTTP.

    python benchmarks/fake_round_trip.py [--n 200] > benchmarks/results/fake_round_trip.txt

Measures the harness overhead of one `Model.complete` call (SDK, HTTP, SSE parsing, our mapping)
with no model latency, for the Anthropic and OpenAI adapters.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

from agent.core.config import load_config
from agent.core.effort import EffortLevel
from agent.core.messages import Message
from agent.core.tool_specs import STANDARD_TOOLS
from agent.fake_provider import FakeProvider
from agent.providers import build_model
from agent.simulate.script import Script

SCRIPT = Script.model_validate(
    {
        "rules": [
            {
                "turns": [
                    {
                        "text": "I will look at the failing test first, then at the module it imports.",
                        "thinking": "Start with the test output.",
                        "tool_calls": [{"name": "bash", "input": {"command": "python -m pytest -x -q"}}],
                    }
                ]
            }
        ]
    }
)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200, help="Round trips per provider.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home, FakeProvider(SCRIPT) as fake:
        config = load_config(env={"AGENT_HOME": home, "AGENT_CONFIG": os.devnull})
        env = {
            "ANTHROPIC_BASE_URL": fake.anthropic_base_url,
            "ANTHROPIC_API_KEY": "bench",
            "OPENAI_BASE_URL": fake.openai_base_url,
            "OPENAI_API_KEY": "bench",
        }
        print(f"fake provider round trips, n={args.n} per provider, streaming, real SDKs over 127.0.0.1")
        print(f"python {platform.python_version()} on {platform.machine()} {platform.system()}")
        for name in ("claude-opus-4-7", "gpt-5"):
            model = build_model(name, config, env)
            messages = [Message.user("The test suite fails; find out why and fix it.")]
            model.complete(messages, system="bench", tools=STANDARD_TOOLS, effort=EffortLevel.HIGH, max_tokens=1000)
            samples = []
            for _ in range(args.n):
                started = time.perf_counter()
                model.complete(messages, system="bench", tools=STANDARD_TOOLS, effort=EffortLevel.HIGH, max_tokens=1000)
                samples.append((time.perf_counter() - started) * 1000)
            print(
                f"{model.provider:<10} {name:<16} median {statistics.median(samples):6.2f} ms"
                f"   p95 {percentile(samples, 0.95):6.2f} ms"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
