"""Escalation inside an attempt: what the attempt has done after each turn (`watch.ProgressWatch`),
recorded for learning, and the attempt abandoned to climb when `agent.learning.escalation` says
continuing is worth less than switching."""
