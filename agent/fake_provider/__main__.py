"""Run the fake provider in the foreground: `python -m agent.fake_provider --script FILE [--port N]`.

Prints its base URL on the first line of stdout, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.core.errors import ConfigError
from agent.fake_provider.server import FakeProvider
from agent.simulate.script import Script, load_script


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.fake_provider", description=__doc__)
    parser.add_argument("--script", type=Path, help="Script file (.json or .toml); default: always 'Done.'")
    parser.add_argument("--port", type=int, default=0, help="Port on 127.0.0.1 (default: any free port).")
    parser.add_argument("--min-cache-tokens", type=int, default=1024, help="Minimum cacheable prefix.")
    args = parser.parse_args(argv)
    try:
        script = load_script(args.script) if args.script else Script()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    fake = FakeProvider(script, min_cache_tokens=args.min_cache_tokens, port=args.port)
    print(fake.url, flush=True)
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
