"""Retry with exponential backoff and full jitter, a retry budget, and the
history of a call that gave up. Runs instantly: waits advance a manual clock.

Run: python python/examples/retry.py
"""

from __future__ import annotations

import asyncio

from seawall import Attempt, Retry, RetryBudget, retry, retry_history
from seawall.testing import ManualClock

clock = ManualClock()
budget = RetryBudget(max_tokens=10, token_ratio=0.1)


def log(attempt: Attempt) -> None:
    print(f"attempt {attempt.number} failed ({attempt.error!r}); waiting {attempt.delay:.3f} s")


calls = 0


@retry(max_attempts=4, initial_delay=0.5, max_delay=10.0, jitter="full", seed=7,
       budget=budget, on_retry=log, clock=clock)
def external_api() -> str:
    global calls
    calls += 1
    if calls < 3:
        raise ConnectionError("connection reset")
    return "200 OK"


@retry(max_attempts=3, clock=clock)
async def always_down() -> None:
    raise TimeoutError("upstream timed out")


def main() -> None:
    print(external_api(), f"after {calls} calls, {clock.now():.3f} s")
    try:
        asyncio.run(always_down())
    except TimeoutError as error:
        history = retry_history(error)
        assert history is not None
        print(f"gave up ({history.give_up}) after {len(history.attempts)} attempts")
    print("the delays of seed 7:", Retry(jitter="full", seed=7).delays(4))
    print(f"budget: {budget.tokens} tokens left")


if __name__ == "__main__":
    main()
