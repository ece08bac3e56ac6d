"""agent: an agentic coding runner that climbs a ladder of models and effort levels to fix issues."""

__version__ = "0.1.0"
