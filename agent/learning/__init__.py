"""Learning the planner's ladders from the ledger: estimate, per task type and rung, the chance an
attempt passes given the rungs that failed before it and what an attempt costs, then choose the
ladder with the lowest expected total cost, an issue left unsolved priced at V.

- `observations.py`: finished attempts of finished issues, read from the ledger (`Observation`).
- `fitting.py`: `fit`, a latent-difficulty (Rasch) model whose rung ability is model skill + a
  monotone effort gain, with hierarchical pooling across task types and a fixed prior (a published
  effort sweep); MAP by L-BFGS and posterior draws from its Laplace approximation (`optimise.py`);
  it corrects the bias of live climbs (a high rung is tried only on tasks the lower ones failed) by
  giving each task one difficulty behind all its attempts. Costs: `attempt_costs.py`.
- `estimates.py`: the fitted `Estimates` (posterior predictive P(pass | earlier rungs failed), costs,
  attempts) and `Prior`.
- `ladders.py`: `choose_ladder`, the ladder with the lowest posterior expected total cost with a price
  V on an unsolved issue (optimal stopping; exhaustive search over ladders of length <= 4 with
  repeats, pruned; optional Thompson-sampling exploration) and `expected_outcome` for any ladder.

Pure: no I/O besides reading ledger rows in `observations_from_ledger`.
"""

from agent.learning.estimates import PUBLISHED_GAINS, Estimates, Prior, RungEstimate
from agent.learning.fitting import FitSettings, fit
from agent.learning.ladders import Candidate, Decision, ReviewBill, choose_ladder, expected_outcome
from agent.learning.observations import Observation, observations_from_ledger

__all__ = [
    "PUBLISHED_GAINS",
    "Candidate",
    "Decision",
    "Estimates",
    "FitSettings",
    "Observation",
    "Prior",
    "ReviewBill",
    "RungEstimate",
    "choose_ladder",
    "expected_outcome",
    "fit",
    "observations_from_ledger",
]
