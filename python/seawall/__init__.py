"""seawall: resilience for Python over a deterministic Rust core.

Circuit breaker, retry with backoff and jitter, timeout, bulkhead, rate limiter
and fallback, for ``def`` and ``async def`` code. Every decision is made by the
same Rust core that the Rust crates use, so the same inputs (and seed) give the
same results. ``seawall.testing.ManualClock`` makes tests exact without sleeps.
``seawall.registry`` names policies for health reports and Prometheus metrics.
``seawall.RedisStore`` shares a breaker's state and a rate limit across a fleet
of processes through Redis.
"""

from seawall._breaker import CircuitBreaker
from seawall._errors import (
    BulkheadFullError,
    CircuitOpenError,
    RateLimitedError,
    SeawallError,
    TimeoutExceededError,
)
from seawall._limits import Bulkhead, RateLimiter
from seawall._redis import (
    RedisStore,
    RedisUnavailableError,
    SharedCircuitBreaker,
    SharedRateLimiter,
    SharedStateCorruptError,
)
from seawall._retry import Attempt, Retry, RetryHistory, retry, retry_history
from seawall._seawall import (
    BulkheadPermit,
    Permit,
    RetryBudget,
    RetryStats,
    SharedPermit,
    SharedState,
    Stats,
    WindowTotals,
    __version__,
)
from seawall._timeout import fallback, timeout

__all__ = [
    "__version__",
    "Attempt",
    "Bulkhead",
    "BulkheadFullError",
    "BulkheadPermit",
    "CircuitBreaker",
    "CircuitOpenError",
    "Permit",
    "RateLimitedError",
    "RateLimiter",
    "RedisStore",
    "RedisUnavailableError",
    "Retry",
    "RetryBudget",
    "RetryHistory",
    "RetryStats",
    "SeawallError",
    "SharedCircuitBreaker",
    "SharedPermit",
    "SharedRateLimiter",
    "SharedState",
    "SharedStateCorruptError",
    "Stats",
    "TimeoutExceededError",
    "WindowTotals",
    "fallback",
    "retry",
    "retry_history",
    "timeout",
]
