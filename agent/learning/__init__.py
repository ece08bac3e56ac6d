"""Learning the planner's ladders from the ledger: estimate, per task type and rung, the chance an
attempt passes given the rungs that failed before it and what an attempt costs, then choose the
ladder with the lowest expected total cost per solved issue.

- `observations.py`: finished attempts of finished issues, read from the ledger (`Observation`).
- `fitting.py`: `fit`, a latent-difficulty (Rasch) model with hierarchical pooling across task types,
  the rules' Beta prior per rung, MAP by L-BFGS; it corrects the bias of live climbs (a high rung is
  tried only on tasks the lower ones failed) by giving each task one difficulty behind all its attempts.
- `estimates.py`: the fitted `Estimates` (P(pass | earlier rungs failed), costs, attempts) and `Prior`.
- `ladders.py`: `choose_ladder` (exhaustive search over ladders of length <= 4 with repeats, pruned;
  optional Thompson-sampling exploration within a cost cap) and `expected_outcome` for any ladder.

Pure: no I/O besides reading ledger rows in `observations_from_ledger`.
"""

from agent.learning.estimates import Estimates, Prior, RungEstimate
from agent.learning.fitting import FitSettings, fit
from agent.learning.ladders import Candidate, Decision, choose_ladder, expected_outcome
from agent.learning.observations import Observation, observations_from_ledger

__all__ = [
    "Candidate",
    "Decision",
    "Estimates",
    "FitSettings",
    "Observation",
    "Prior",
    "RungEstimate",
    "choose_ladder",
    "expected_outcome",
    "fit",
    "observations_from_ledger",
]
