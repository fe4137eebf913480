"""A bulkhead, a rate limiter, a timeout and a fallback around async calls.

Run: python python/examples/limits.py
"""

from __future__ import annotations

import asyncio

from seawall import Bulkhead, RateLimiter, fallback, timeout

pool = Bulkhead(2, max_wait=1.0, name="search")
limiter = RateLimiter(50, period=1.0, burst=5, name="search-api")


@fallback(lambda error: [f"cached result ({type(error).__name__})"])
@timeout(0.5)
@pool
@limiter
async def search(query: str) -> list[str]:
    await asyncio.sleep(0.01)
    return [f"result for {query!r}"]


@fallback(lambda error: ["nothing in time"])
@timeout(0.01)
async def slow_search(query: str) -> list[str]:
    await asyncio.sleep(10)
    return []


async def main() -> None:
    results = await asyncio.gather(*(search(f"q{i}") for i in range(6)))
    for result in results:
        print(result)
    print(await slow_search("anything"))
    print(f"in flight now: {pool.in_flight}; limiter burst: {limiter.burst}")


if __name__ == "__main__":
    asyncio.run(main())
