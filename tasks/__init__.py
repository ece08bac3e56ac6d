"""What to fix: issues given to `agent fix` and SWE-bench-style benchmark tasks, and their loaders."""
