"""A fleet of processes sharing one circuit breaker and one rate limit through Redis.

Three worker processes call a dependency that is down. Each sees only two
failures, but the breaker is shared: the fleet's six failures cross the
threshold of five, and every worker fails fast from then on. The rate limit
(10 calls a second, bursts of 3) holds for the three workers together.

Run: python python/examples/redis_fleet.py [redis://127.0.0.1:6379]
(with a redis-server there; without one, the workers fall back to local
breakers and limiters, and say so.)
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import time
import uuid

from seawall import CircuitOpenError, RateLimitedError, RedisStore, SharedCircuitBreaker


def breaker(store: RedisStore) -> SharedCircuitBreaker:
    return store.circuit_breaker(
        "payments-db",
        failure_threshold=5,
        success_threshold=2,
        timeout=30.0,
        failure_on=ConnectionError,
    )


def worker(url: str, prefix: str, number: int) -> None:
    store = RedisStore(url, prefix=prefix, timeout=0.1, sync_interval=0.05)
    database = breaker(store)
    api = store.rate_limiter("payments-api", 10, 1.0, burst=3)

    @database
    def query(sql: str) -> list[str]:
        raise ConnectionError("database unreachable")

    @database
    async def query_async(sql: str) -> list[str]:
        await asyncio.sleep(0)
        raise ConnectionError("database unreachable")

    for call in range(2):
        try:
            query("select 1")
        except ConnectionError:
            print(f"worker {number}: failure {call + 1}")
    # The other workers' failures open this breaker too (within one sync interval).
    deadline = time.monotonic() + 2
    while database.state == "closed" and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        asyncio.run(query_async("select 2"))
    except CircuitOpenError as error:
        print(f"worker {number}: failed fast: {error}")
    except ConnectionError:
        print(f"worker {number}: still closed (fallback: {database.is_fallback})")
    admitted = sum(api.try_acquire() for _ in range(5))
    print(f"worker {number}: {admitted} of 5 calls admitted by the rate limit")
    try:
        api.acquire(max_wait=0.0)
    except RateLimitedError as error:
        print(f"worker {number}: {error}")


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379"
    prefix = f"example-{uuid.uuid4().hex[:8]}"
    store = RedisStore(url, prefix=prefix, timeout=0.1)
    if not store.ping():
        print(f"no Redis at {url}: every worker decides alone (fail open)")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=worker, args=(url, prefix, n)) for n in range(3)]
    for process in workers:
        process.start()
    for process in workers:
        process.join()
    database = breaker(store)
    if store.ping():
        shared = database.shared_state()
        print(f"shared: {shared.state}, {shared.trips} trip(s), {shared.open_remaining:.1f} s left")
        database.reset()
        print(f"after reset: {database.sync().state}")


if __name__ == "__main__":
    main()
