"""Chat before batch: batch jobs pause between questions while chat answers are being made.

The chat and the staff page have separate queues, but they share the process's CPU (and
Python's interpreter lock): a CPU-bound batch answer slows a chat answer running at the
same time. ``Priority.chat()`` marks a chat answer in progress; ``Priority.batch_turn()``,
called by a batch job before each question, waits while any chat answer is in progress
(at most ``max_wait_s`` per question, so batches always progress). It does not limit how
many answers run at once (the queues' concurrency limits do that).

>>> p = Priority(max_wait_s=0.01)
>>> with p.chat():
...     p.busy
1
>>> p.batch_turn()  # nothing to wait for
0.0
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Priority:
    """A counter of chat answers in progress that batch jobs wait on."""

    def __init__(self, max_wait_s: float = 0.5):
        self.max_wait_s = max_wait_s
        self.busy = 0
        self._cond = threading.Condition()

    @contextmanager
    def chat(self) -> Iterator[None]:
        with self._cond:
            self.busy += 1
        try:
            yield
        finally:
            with self._cond:
                self.busy -= 1
                self._cond.notify_all()

    def batch_turn(self) -> float:
        """Wait until no chat answer is in progress (or ``max_wait_s``); return the seconds waited."""
        start = time.monotonic()
        with self._cond:
            self._cond.wait_for(lambda: self.busy == 0, timeout=self.max_wait_s)
        return round(time.monotonic() - start, 3) if self.busy else 0.0
