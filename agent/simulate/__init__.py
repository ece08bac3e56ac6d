"""Simulated models for keyless runs and tests: scripted, null and oracle models, their scripts,
the `sim-*` population (`population`, `sim_turns`; served by `agent.fake_provider.sim`), and the
demo's data.
"""
