"""Tools for testing code that uses seawall: a clock that moves only when told to.

>>> from seawall.testing import ManualClock
>>> clock = ManualClock()
>>> breaker = CircuitBreaker("db", failure_threshold=1, timeout=10.0, clock=clock)
>>> clock.advance(10.0)  # instead of sleeping
"""

from seawall._seawall import ManualClock

__all__ = ["ManualClock"]
