"""Rate limiter and bulkhead: admission, waiting (threads and tasks), release on
cancellation and garbage collection, bad arguments."""

from __future__ import annotations

import asyncio
import gc
import math
import threading
from typing import Any, List

import pytest

from seawall import Bulkhead, BulkheadFullError, RateLimitedError, RateLimiter, SeawallError
from seawall.testing import ManualClock

NEVER = 30.0


# --- rate limiter ------------------------------------------------------------


def test_rate_limiter_admits_the_burst_then_paces() -> None:
    clock = ManualClock()
    limiter = RateLimiter(2, clock=clock)  # 2 per second, bursts of 2
    assert limiter.try_acquire() and limiter.try_acquire()
    assert not limiter.try_acquire()
    assert limiter.check() == 0.5
    clock.advance(0.5)
    assert limiter.try_acquire()
    assert not limiter.try_acquire()
    limiter.reset()
    assert limiter.try_acquire(2)


def test_acquire_waits_on_the_manual_clock() -> None:
    clock = ManualClock()
    limiter = RateLimiter(10, period=1.0, burst=1, clock=clock)
    for _ in range(5):
        limiter.acquire()
    assert clock.now() == pytest.approx(0.4)
    with pytest.raises(RateLimitedError) as caught:
        limiter.acquire(max_wait=0.05)
    assert caught.value.retry_after == pytest.approx(0.1)
    assert caught.value.name == "rate_limiter"
    assert isinstance(caught.value, SeawallError)


def test_weighted_requests() -> None:
    limiter = RateLimiter(5, burst=5, clock=ManualClock())
    assert limiter.try_acquire(n=5)
    assert not limiter.try_acquire(n=1)
    with pytest.raises(ValueError, match="n"):
        limiter.try_acquire(n=6)
    assert limiter.try_acquire(n=0)


def test_async_wait_and_decorators() -> None:
    clock = ManualClock()
    limiter = RateLimiter(1, period=2.0, clock=clock, name="api")

    @limiter
    def ping() -> str:
        return "pong"

    @limiter
    async def ping_async() -> str:
        return "pong"

    async def main() -> None:
        assert await ping_async() == "pong"
        await limiter.wait()
        with pytest.raises(RateLimitedError):
            await limiter.wait(max_wait=1.0)
        async with limiter:
            pass

    assert ping() == "pong"
    asyncio.run(main())
    with limiter:
        pass
    assert clock.now() == 8.0  # one call free, then one every 2 s


class _Slept(Exception):
    """Stops a wait at its first sleep."""


def test_async_wait_sleeps_with_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: List[float] = []

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)
        raise _Slept()

    limiter = RateLimiter(1, period=3600.0)
    monkeypatch.setattr(asyncio, "sleep", fake_sleep)

    async def main() -> None:
        await limiter.wait()
        with pytest.raises(_Slept):
            await limiter.wait(max_wait=5000)
        # A turn beyond max_wait is refused at once, without sleeping.
        with pytest.raises(RateLimitedError):
            await limiter.wait(max_wait=60)

    asyncio.run(main())
    assert len(slept) == 1 and 3599 < slept[0] <= 3600
    assert limiter.max_wait is None


def test_limiter_is_exact_across_threads() -> None:
    limiter = RateLimiter(1000, period=3600.0, clock=ManualClock())
    admitted: List[bool] = []
    lock = threading.Lock()

    def take(_: int) -> None:
        for _ in range(500):
            ok = limiter.try_acquire()
            with lock:
                admitted.append(ok)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 1000 and len(admitted) == 4000


def test_rate_limiter_properties() -> None:
    clock = ManualClock()
    limiter = RateLimiter(100, period=60, burst=10, max_wait=1.5, name="db", clock=clock)
    assert (limiter.rate, limiter.period, limiter.burst, limiter.max_wait) == (100, 60.0, 10, 1.5)
    assert limiter.name == "db" and limiter.clock is clock
    assert "rate=100" in repr(limiter)


@pytest.mark.parametrize(
    "args,options,error,argument",
    [
        ((0,), {}, ValueError, "rate"),
        ((-1,), {}, ValueError, "rate"),
        (("5",), {}, TypeError, "rate"),
        ((5,), {"period": 0}, ValueError, "period"),
        ((5,), {"period": math.nan}, ValueError, "period"),
        ((5,), {"burst": 0}, ValueError, "burst"),
        ((5,), {"burst": 2**40}, ValueError, "burst"),
        ((5,), {"max_wait": -1}, ValueError, "max_wait"),
        ((5,), {"name": 3}, TypeError, "name"),
        ((5,), {"clock": "now"}, TypeError, "clock"),
        ((1,), {"period": 1e300, "burst": 2**31}, ValueError, "period"),
        # 634 years: refused, not a limiter whose waits never end.
        ((1,), {"period": 2e10}, ValueError, "period"),
        ((1,), {"period": 3e9, "burst": 2}, ValueError, "burst"),
    ],
)
def test_bad_rate_limiter_arguments(args: Any, options: Any, error: type, argument: str) -> None:
    with pytest.raises(error, match=argument):
        RateLimiter(*args, **options)


def test_bad_acquire_arguments() -> None:
    limiter = RateLimiter(5)
    with pytest.raises(ValueError, match="n"):
        limiter.acquire(n=-1)
    with pytest.raises(TypeError, match="n"):
        limiter.try_acquire(n=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_wait"):
        limiter.acquire(max_wait=math.nan)
    with pytest.raises(ValueError, match="max_wait"):
        asyncio.run(limiter.wait(max_wait=-1))


# --- bulkhead ------------------------------------------------------------------


def test_bulkhead_limits_calls_in_flight() -> None:
    bulkhead = Bulkhead(2, name="pool")
    first, second = bulkhead.try_enter(), bulkhead.try_enter()
    assert first is not None and second is not None
    assert bulkhead.try_enter() is None
    assert (bulkhead.in_flight, bulkhead.available) == (2, 0)
    with pytest.raises(BulkheadFullError) as caught:
        bulkhead.enter()
    assert caught.value.name == "pool" and caught.value.max_concurrent == 2
    first.release()
    first.release()  # once only
    assert bulkhead.in_flight == 1
    del second
    gc.collect()
    assert bulkhead.in_flight == 0


def test_bulkhead_decorator_and_blocks() -> None:
    bulkhead = Bulkhead(1)

    @bulkhead
    def work() -> int:
        assert bulkhead.in_flight == 1
        with pytest.raises(BulkheadFullError):
            with bulkhead:
                pass
        return 7

    assert work() == 7
    with bulkhead as permit:
        assert permit.active and bulkhead.in_flight == 1
    assert not permit.active and bulkhead.in_flight == 0

    @bulkhead
    async def work_async() -> int:
        return 8

    async def main() -> None:
        assert await work_async() == 8
        async with bulkhead:
            assert bulkhead.in_flight == 1

    asyncio.run(main())
    assert bulkhead.in_flight == 0


def test_waiting_threads_get_places_in_turn() -> None:
    bulkhead = Bulkhead(2, max_wait=NEVER)
    inside = threading.Semaphore(0)
    go = threading.Event()
    peak: List[int] = []
    lock = threading.Lock()

    @bulkhead
    def work() -> None:
        with lock:
            peak.append(bulkhead.in_flight)
        inside.release()
        assert go.wait(NEVER)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for _ in range(2):
        assert inside.acquire(timeout=NEVER)
    go.set()
    for t in threads:
        t.join()
    assert len(peak) == 6 and max(peak) <= 2
    assert bulkhead.in_flight == 0


def test_a_waiting_thread_gives_up_after_max_wait() -> None:
    bulkhead = Bulkhead(1, max_wait=0.01)
    held = bulkhead.enter()
    with pytest.raises(BulkheadFullError):
        bulkhead.enter()
    held.release()
    assert bulkhead.enter().active


def test_waiting_tasks_get_places_and_cancelled_ones_leave_the_queue() -> None:
    bulkhead = Bulkhead(1, max_wait=NEVER)

    async def main() -> None:
        order: List[int] = []
        release = asyncio.Event()

        @bulkhead
        async def work(i: int) -> None:
            order.append(i)
            await release.wait()

        first = asyncio.ensure_future(work(0))
        await asyncio.sleep(0)
        waiting = [asyncio.ensure_future(work(i)) for i in (1, 2, 3)]
        await asyncio.sleep(0)
        assert order == [0] and bulkhead.in_flight == 1
        waiting[0].cancel()  # a cancelled waiter takes no place
        with pytest.raises(asyncio.CancelledError):
            await waiting[0]
        release.set()
        await asyncio.gather(first, *waiting[1:])
        assert order == [0, 2, 3]

    asyncio.run(main())
    assert bulkhead.in_flight == 0


def test_a_cancelled_task_gives_its_place_back() -> None:
    bulkhead = Bulkhead(1)

    async def main() -> None:
        inside = asyncio.Event()

        @bulkhead
        async def hang() -> None:
            inside.set()
            await asyncio.Event().wait()

        task = asyncio.ensure_future(hang())
        await inside.wait()
        assert bulkhead.in_flight == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert bulkhead.in_flight == 0

    asyncio.run(main())


def test_an_async_wait_times_out() -> None:
    bulkhead = Bulkhead(1, max_wait=0.01)

    async def main() -> None:
        held = await bulkhead.enter_async()
        with pytest.raises(BulkheadFullError):
            await bulkhead.enter_async()
        held.release()
        assert (await bulkhead.enter_async()).active

    asyncio.run(main())


def test_bulkhead_is_exact_across_threads() -> None:
    bulkhead = Bulkhead(3)
    peak: List[int] = []
    lock = threading.Lock()
    rejected: List[int] = []

    def hammer(_: int) -> None:
        for _ in range(2000):
            permit = bulkhead.try_enter()
            if permit is None:
                with lock:
                    rejected.append(1)
                continue
            with lock:
                peak.append(bulkhead.in_flight)
            permit.release()

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(peak) <= 3 and bulkhead.in_flight == 0
    assert len(peak) + len(rejected) == 16000


@pytest.mark.parametrize(
    "args,options,error,argument",
    [
        ((0,), {}, ValueError, "max_concurrent"),
        ((-2,), {}, ValueError, "max_concurrent"),
        ((1.5,), {}, TypeError, "max_concurrent"),
        ((1,), {"max_wait": -1}, ValueError, "max_wait"),
        ((1,), {"max_wait": math.inf}, ValueError, "max_wait"),
        ((1,), {"name": b"x"}, TypeError, "name"),
    ],
)
def test_bad_bulkhead_arguments(args: Any, options: Any, error: type, argument: str) -> None:
    with pytest.raises(error, match=argument):
        Bulkhead(*args, **options)


def test_waiting_tasks_are_served_first_come_first_served() -> None:
    async def main() -> List[str]:
        bulkhead = Bulkhead(1, max_wait=60.0)
        held = await bulkhead.enter_async()
        order: List[str] = []

        async def caller(name: str) -> None:
            async with bulkhead:
                order.append(name)
                await asyncio.sleep(0)

        waiters = [asyncio.ensure_future(caller(name)) for name in "abc"]
        await asyncio.sleep(0)
        assert bulkhead.queued == 3
        held.release()
        # A newcomer does not take the place handed to the first in line.
        assert bulkhead.try_enter() is None
        late = asyncio.ensure_future(caller("late"))
        await asyncio.gather(*waiters, late)
        return order

    assert asyncio.run(main()) == ["a", "b", "c", "late"]


def test_many_tasks_all_get_a_place_within_max_wait() -> None:
    # 2,000 tasks, 10 places: none is refused (an unfair queue refused some).
    async def main() -> int:
        bulkhead = Bulkhead(10, max_wait=60.0)
        refused = 0

        async def call() -> None:
            nonlocal refused
            try:
                async with bulkhead:
                    await asyncio.sleep(0)
            except BulkheadFullError:
                refused += 1

        await asyncio.gather(*(call() for _ in range(2_000)))
        assert bulkhead.in_flight == 0 and bulkhead.queued == 0
        return refused

    assert asyncio.run(main()) == 0


def test_a_wait_is_measured_on_the_clock_not_added_up_from_announced_waits() -> None:
    clock = ManualClock()
    limiter = RateLimiter(1, period=1.0, clock=clock)
    assert limiter.try_acquire()

    async def slow_neighbour() -> None:
        # Runs while the waiter sleeps: a second passes, and it takes the cell.
        clock.advance(1.0)
        assert limiter.try_acquire()

    async def main() -> None:
        neighbour = asyncio.ensure_future(slow_neighbour())
        with pytest.raises(RateLimitedError):
            # Announced: 1 s, then 1 s more: 2 s <= 2.5. Measured: 2 s have
            # passed and the next turn is at 3 s, past 2.5: refused now.
            await limiter.wait(max_wait=2.5)
        await neighbour

    asyncio.run(main())
    assert clock.now() == 2.0
