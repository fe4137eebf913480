"""Tools for testing code that uses seawall: a clock that moves only when told to,
and an asyncio event loop that runs on it.

>>> from seawall.testing import ManualClock
>>> clock = ManualClock()
>>> breaker = CircuitBreaker("db", failure_threshold=1, timeout=10.0, clock=clock)
>>> clock.advance(10.0)  # instead of sleeping
"""

from __future__ import annotations

import asyncio
import selectors
from typing import List, Optional, Tuple

from seawall._seawall import ManualClock

__all__ = ["ManualClock", "VirtualTimeLoop"]


class _Jump(selectors.DefaultSelector):
    """A selector that, instead of waiting, moves the clock to the next timer."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: Optional[float] = None) -> List[Tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            ready = super().select(0)
            if not ready:
                raise RuntimeError(
                    "the event loop would wait forever: no task is ready and no timer is set"
                )
            return ready
        if timeout > 0:
            self._clock.advance(timeout)
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop whose time is a :class:`ManualClock`: when no task
    is ready, it moves the clock to the next timer instead of waiting. Every
    ``asyncio.sleep``, ``wait_for`` and hedge delay then passes in virtual
    time, exactly; code doing real I/O does not belong on it.

    >>> clock = ManualClock()
    >>> loop = VirtualTimeLoop(clock)
    >>> loop.run_until_complete(asyncio.sleep(3600))
    >>> clock.now()
    3600.0
    >>> loop.close()
    """

    def __init__(self, clock: ManualClock) -> None:
        self._manual_clock = clock
        super().__init__(_Jump(clock))

    def time(self) -> float:
        return self._manual_clock.now()

    @property
    def clock(self) -> ManualClock:
        """The clock the loop runs on."""
        return self._manual_clock


