"""The model stack an attempt calls: any model wrapped in a metered model (reserve, pending row,
call, settle, bill), gated by its provider's gate (`quota.py`: a rate limit is waited out by the whole
run, a quota error pauses it), the routes of a rung wrapped in a fallback model (provider failures and
invalid replies switch along the rung's chain). The loop, the summariser and the classifier
all call through it (the summariser and the classifier metered, not gated)."""
