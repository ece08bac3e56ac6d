"""A fake model provider for tests and demos: see `agent.fake_provider.server`."""

from agent.fake_provider.server import FakeProvider, RecordedRequest

__all__ = ["FakeProvider", "RecordedRequest"]
