"""The `agent` command: the typer app (`app.main`), one module per command group, nothing else."""
