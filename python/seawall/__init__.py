"""seawall: resilience for Python over a deterministic Rust core.

Circuit breaker, retry with backoff and jitter (with a retry budget or quota
and an adaptive rate), timeout, bulkhead, adaptive concurrency limit, rate
limiter and fallback, for ``def`` and ``async def`` code. Every decision is made
by the same Rust core that the Rust crates use, so the same inputs (and the
same random seed) give the same results. ``seawall.testing.ManualClock`` makes
tests exact without sleeps.
``seawall.registry`` names policies for health reports and Prometheus metrics.
``seawall.RedisStore`` shares a breaker's state and a rate limit across a fleet
of processes through Redis. ``seawall.simulate`` tells what a configuration
would have done over a scenario or a recorded trace, in virtual time.
"""


def _require_extension() -> None:
    """Says clearly when the compiled extension is missing: the source
    directory imported by mistake (Python run from python/ in a clone)."""
    try:
        from seawall import _seawall  # noqa: F401
    except ImportError as error:
        if getattr(error, "name", None) not in ("seawall._seawall", "seawall"):
            raise
        raise ImportError(
            f"seawall's compiled extension (seawall._seawall) is not in {__path__[0]}: "
            "Python found seawall's source directory before the installed package, "
            "probably because it runs from python/ in a clone of seawall. Run it "
            "from another directory, or build the extension in place with "
            "`maturin develop` (see python/README.md)."
        ) from None


_require_extension()

from seawall._adaptive import AdaptiveLimiter
from seawall._breaker import CircuitBreaker
from seawall._errors import (
    BulkheadFullError,
    CircuitOpenError,
    InjectedFaultError,
    RateLimitedError,
    SeawallError,
    TimeoutExceededError,
)
from seawall._fault import FaultInjector
from seawall._hedge import Hedge
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
    AdaptiveRate,
    AttemptTimeout,
    BulkheadPermit,
    FaultCounts,
    HedgeStats,
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
from seawall._sim import Simulation, simulate
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
    "FaultCounts",
    "FaultInjector",
    "Hedge",
    "HedgeStats",
    "InjectedFaultError",
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
    "Simulation",
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
    "simulate",
    "timeout",
]
