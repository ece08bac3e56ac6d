"""`python -m agent` runs the CLI."""

from agent.cli.app import main

main()
