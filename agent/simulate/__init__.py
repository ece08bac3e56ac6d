"""Simulated models for keyless runs and tests: scripted, null and oracle models, their scripts,
and the demo's data.
"""
