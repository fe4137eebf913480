"""A circuit breaker in front of a flaky dependency, driven by a manual clock.

Run: python python/examples/breaker.py
"""

from __future__ import annotations

import asyncio

from seawall import CircuitBreaker, CircuitOpenError
from seawall.testing import ManualClock

clock = ManualClock()


def log(breaker: CircuitBreaker, old: str, new: str) -> None:
    print(f"[{clock.now():5.1f} s] {breaker.name}: {old} -> {new}")


database = CircuitBreaker(
    "database",
    failure_threshold=5,
    success_threshold=2,
    timeout=60.0,
    on_state_change=log,
    clock=clock,
)


@database
def query(sql: str, *, healthy: bool) -> list[str]:
    if not healthy:
        raise ConnectionError("database unreachable")
    return [f"row for {sql!r}"]


@database
async def query_async(sql: str) -> list[str]:
    await asyncio.sleep(0)
    return [f"async row for {sql!r}"]


def main() -> None:
    for _ in range(5):
        try:
            query("select 1", healthy=False)
        except ConnectionError:
            pass
    try:
        query("select 1", healthy=True)
    except CircuitOpenError as error:
        print(f"failed fast: {error} (retry after {error.retry_after} s)")
    clock.advance(60)
    print(query("select 1", healthy=True))
    print(asyncio.run(query_async("select 2")))
    stats = database.stats
    print(
        f"state={stats.state} success_rate={stats.success_rate:.2f} "
        f"rejection_rate={stats.rejection_rate:.2f} transitions={stats.state_transitions}"
    )
    with database:
        print("a block through the breaker")


if __name__ == "__main__":
    main()
