"""What every view of one app shares: the ledger, the review settings, the clocks and the live run's flags."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.core.config import ReviewConfig
from agent.ledger import Ledger


@dataclass
class AppState:
    ledger: Ledger
    review: ReviewConfig
    reviewer: str = "developer"
    clock: Callable[[], float] = time.time  # wall clock: ETA
    monotonic: Callable[[], float] = time.monotonic  # review timer
    live: bool = False  # this process runs the run (it can be stopped from here)
    stop: threading.Event = field(default_factory=threading.Event)  # "stop after the current turn"
    done: threading.Event = field(default_factory=threading.Event)  # the live run's worker has ended
