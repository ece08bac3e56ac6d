"""One issue end to end: the climb (`runner.run_issue`), the attempt loop, tools, test runs and
judging, prompts, the planner, budgets and delivery. Receives its sandbox and model factories;
never imports the CLI, Docker, Rich or Textual.
"""
