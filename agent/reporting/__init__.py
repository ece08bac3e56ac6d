"""Cost per solved issue from the ledger: costs, results, reports (terminal and HTML) and offline
evaluation of escalation policies.
"""
