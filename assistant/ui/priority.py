"""Chat before batch: batch jobs pause between questions while chat work is in progress.

The chat and the staff page have separate queues, but they share the process's CPU (and
Python's interpreter lock): a CPU-bound batch answer slows everything the chat does at
the same time, not only its answer but also the server's own work on a chat request
(reading it, queueing it, sending the result), which runs on the event loop thread and
must win the interpreter lock back from a busy batch thread at every step.

``Priority.chat()`` marks chat work in progress: the chat handlers wrap each answer in
it, and the server wraps each chat request to the queue (from its arrival until its
result is sent). ``Priority.batch_answer()`` wraps one batch question: it lets one batch
answer run at a time (however many batch jobs run), and it first waits while any chat
work is in progress, at most ``max_wait_s`` per question, so batches always progress.
It does not limit how many answers run at once (the queues' concurrency limits do that).

>>> p = Priority(max_wait_s=0.01)
>>> with p.chat():
...     p.busy
1
>>> with p.batch_answer() as waited:  # nothing to wait for
...     waited
0.0
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Priority:
    """A counter of chat work in progress that batch answers wait on, one at a time."""

    def __init__(self, max_wait_s: float = 0.5):
        self.max_wait_s = max_wait_s
        self.busy = 0
        self._cond = threading.Condition()
        self._batch = threading.Lock()

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
        """Wait until no chat work is in progress (or ``max_wait_s``); return the seconds waited."""
        start = time.monotonic()
        with self._cond:
            self._cond.wait_for(lambda: self.busy == 0, timeout=self.max_wait_s)
        return round(time.monotonic() - start, 3) if self.busy else 0.0

    @contextmanager
    def batch_answer(self) -> Iterator[float]:
        """Hold the batch turn for one answer (after ``batch_turn``); yield the seconds waited."""
        with self._batch:
            yield self.batch_turn()
