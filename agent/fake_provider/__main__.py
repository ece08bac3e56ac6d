"""Run the fake provider in the foreground: `python -m agent.fake_provider --script FILE [--port N]`,
or serve the simulated population for a suite: `python -m agent.fake_provider --sim builtin
[--population FILE]`.

Prints its base URL on the first line of stdout (with --sim, then the SIM_BASE_URL and SIM_API_KEY
lines to export), then serves until interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.core.config import load_config
from agent.core.errors import AgentError
from agent.fake_provider.server import FakeProvider
from agent.fake_provider.sim import SimResponder, sim_env
from agent.simulate.population import load_population
from agent.simulate.script import Script, load_script
from tasks.loaders import load_tasks


def build(args: argparse.Namespace) -> FakeProvider:
    """The server the arguments ask for (not started)."""
    if args.sim:
        tasks = load_tasks(args.sim, load_config().home)
        responder = SimResponder(load_population(args.population), tasks)
        return FakeProvider(responder=responder, min_cache_tokens=args.min_cache_tokens, port=args.port)
    script = load_script(args.script) if args.script else Script()
    return FakeProvider(script, min_cache_tokens=args.min_cache_tokens, port=args.port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.fake_provider", description=__doc__)
    parser.add_argument("--script", type=Path, help="Script file (.json or .toml); default: always 'Done.'")
    parser.add_argument("--sim", metavar="SUITE", help="Serve the sim-* population for this suite (e.g. builtin).")
    parser.add_argument("--population", type=Path, help="Population file for --sim (default: the shipped one).")
    parser.add_argument("--port", type=int, default=0, help="Port on 127.0.0.1 (default: any free port).")
    parser.add_argument("--min-cache-tokens", type=int, default=1024, help="Minimum cacheable prefix.")
    args = parser.parse_args(argv)
    if args.sim and args.script:
        print("error: --sim and --script are exclusive: pick one", file=sys.stderr)
        return 2
    try:
        fake = build(args)
    except AgentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(fake.url, flush=True)
    if args.sim:
        print("\n".join(f"{name}={value}" for name, value in sim_env(fake).items()), flush=True)
    print(
        f"ANTHROPIC_BASE_URL={fake.anthropic_base_url} OPENAI_BASE_URL={fake.openai_base_url}",
        file=sys.stderr,
        flush=True,
    )
    try:
        fake.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
