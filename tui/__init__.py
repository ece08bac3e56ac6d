"""The Textual app: watch `agent fix`/`agent demo` live, attach to any run in the ledger, review fixes.

`tui.launch` holds the entry points the CLI calls. Every number on screen comes from
`agent.reporting.costs` over the ledger; the widgets only show events and rows.
"""
