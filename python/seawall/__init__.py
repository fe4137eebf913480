"""seawall: resilience for Python over a deterministic Rust core.

Circuit breaker, retry with backoff and jitter (with a retry budget or quota
and an adaptive rate), timeout, bulkhead, adaptive concurrency limit, rate
limiter and fallback, for ``def`` and ``async def`` code. Every decision is made by the
same Rust core that the Rust crates use, so the same inputs (and seed) give the
same results. ``seawall.testing.ManualClock`` makes tests exact without sleeps.
``seawall.registry`` names policies for health reports and Prometheus metrics.
``seawall.RedisStore`` shares a breaker's state and a rate limit across a fleet
of processes through Redis.
"""

from seawall._adaptive import AdaptiveLimiter
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
)
from seawall._retry import Attempt, Retry, RetryHistory, retry, retry_history
from seawall._seawall import (
    AdaptiveRate,
    AttemptTimeout,
    BulkheadPermit,
    LimiterPermit,
    Permit,
    RetryBudget,
    RetryQuota,
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
    "AdaptiveLimiter",
    "AdaptiveRate",
    "Attempt",
    "AttemptTimeout",
    "Bulkhead",
    "BulkheadFullError",
    "BulkheadPermit",
    "CircuitBreaker",
    "CircuitOpenError",
    "LimiterPermit",
    "Permit",
    "RateLimitedError",
    "RateLimiter",
    "RedisStore",
    "RedisUnavailableError",
    "Retry",
    "RetryBudget",
    "RetryHistory",
    "RetryQuota",
    "RetryStats",
    "SeawallError",
    "SharedCircuitBreaker",
    "SharedPermit",
    "SharedRateLimiter",
    "SharedState",
    "Stats",
    "TimeoutExceededError",
    "WindowTotals",
    "fallback",
    "retry",
    "retry_history",
    "timeout",
]
