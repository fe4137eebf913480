"""The exceptions seawall raises itself (the errors of guarded calls pass through unchanged).

They are plain Python classes so that they subclass the standard exceptions on
every Python the abi3 extension runs on; the extension raises them with their
``args`` in a fixed order, and the properties read them back.
"""

from __future__ import annotations

import builtins
from typing import Optional

__all__ = [
    "SeawallError",
    "CircuitOpenError",
    "BulkheadFullError",
    "RateLimitedError",
    "TimeoutExceededError",
]


class SeawallError(Exception):
    """Base class of every exception raised by seawall's policies themselves."""


class CircuitOpenError(SeawallError):
    """A call rejected by a circuit breaker, without being attempted.

    ``CircuitOpenError(name, retry_after, reason)``:

    - ``name``: the breaker's name;
    - ``retry_after``: seconds until the breaker admits a call again, or
      ``None`` when no time can be promised (forced open, or half-open with
      every probe slot taken);
    - ``reason``: ``"open"``, ``"half_open_full"`` or ``"forced_open"``.
    """

    @property
    def name(self) -> str:
        """The name of the breaker that rejected the call."""
        return str(self.args[0])

    @property
    def retry_after(self) -> Optional[float]:
        """Seconds until the breaker admits a call again, or None if unknown."""
        value = self.args[1] if len(self.args) > 1 else None
        return None if value is None else float(value)

    @property
    def reason(self) -> str:
        """Why: ``"open"``, ``"half_open_full"`` or ``"forced_open"``."""
        return str(self.args[2]) if len(self.args) > 2 else "open"

    def __str__(self) -> str:
        reason = {
            "open": "is open",
            "half_open_full": "is half-open and its probe calls are taken",
            "forced_open": "is forced open",
        }.get(self.reason, self.reason)
        message = f"circuit breaker {self.name!r} {reason}"
        if self.retry_after is not None:
            message += f"; retry after {self.retry_after:g} s"
        return message


class BulkheadFullError(SeawallError):
    """A call rejected by a bulkhead: too many calls in flight.

    ``BulkheadFullError(name, max_concurrent)``.
    """

    @property
    def name(self) -> str:
        """The name of the bulkhead."""
        return str(self.args[0])

    @property
    def max_concurrent(self) -> int:
        """The bulkhead's limit of calls in flight."""
        return int(self.args[1]) if len(self.args) > 1 else 0

    def __str__(self) -> str:
        return f"bulkhead {self.name!r} is full ({self.max_concurrent} calls in flight)"


class RateLimitedError(SeawallError):
    """A call rejected by a rate limiter.

    ``RateLimitedError(name, retry_after)``: ``retry_after`` is the number of
    seconds until the call would be allowed.
    """

    @property
    def name(self) -> str:
        """The name of the rate limiter."""
        return str(self.args[0])

    @property
    def retry_after(self) -> float:
        """Seconds until a call would be allowed."""
        return float(self.args[1]) if len(self.args) > 1 else 0.0

    def __str__(self) -> str:
        return f"rate limiter {self.name!r}: retry after {self.retry_after:g} s"


class TimeoutExceededError(SeawallError, builtins.TimeoutError):
    """A call that did not finish within its time limit (also a ``TimeoutError``).

    ``TimeoutExceededError(limit)``: ``limit`` is the time limit in seconds.
    """

    @property
    def limit(self) -> float:
        """The time limit that was exceeded, in seconds."""
        return float(self.args[0]) if self.args else 0.0

    def __str__(self) -> str:
        return f"call did not finish within {self.limit:g} s"
