"""Threads and asyncio tasks racing through one breaker: exact counts, exact
probe limits, no serialisation, and cancelled tasks freeing their slots.

No test sleeps: threads wait on events and barriers; time is a ManualClock.
"""

from __future__ import annotations

import asyncio
import threading
from typing import List

import pytest

from seawall import CircuitBreaker, CircuitOpenError
from seawall.testing import ManualClock

THREADS = 8
# Generous bound for waits that must succeed at once; reaching it is a failure.
NEVER = 30.0


class Boom(Exception):
    pass


def run_threads(target, count: int = THREADS) -> None:  # type: ignore[no-untyped-def]
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_many_threads_give_exact_counts() -> None:
    breaker = CircuitBreaker("db", failure_threshold=10**6)
    calls = 5_000

    @breaker
    def work(fail: bool) -> None:
        if fail:
            raise Boom()

    def hammer(index: int) -> None:
        for i in range(calls):
            try:
                work(i % 4 == 0)
            except Boom:
                pass

    run_threads(hammer)
    stats = breaker.stats
    assert stats.permitted == THREADS * calls
    assert stats.failed == THREADS * calls // 4
    assert stats.successful == THREADS * calls * 3 // 4
    assert stats.rejected == 0 and stats.released == 0


def test_the_breaker_never_serialises_calls() -> None:
    # Every thread waits inside the guarded function until all are inside it: with
    # a lock held around the call this could never finish.
    breaker = CircuitBreaker("db")
    inside = threading.Barrier(THREADS)
    passed: List[bool] = []

    @breaker
    def meet() -> None:
        passed.append(inside.wait(timeout=NEVER) >= 0)

    run_threads(lambda i: meet())
    assert len(passed) == THREADS
    assert breaker.stats.successful == THREADS


@pytest.mark.parametrize("probes", [1, 3])
def test_half_open_admits_exactly_the_probe_limit_across_threads(probes: int) -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("db", failure_threshold=1, half_open_max_calls=probes, success_threshold=probes, clock=clock)
    breaker.acquire().failure()
    clock.advance(60)
    start = threading.Barrier(THREADS)
    release = threading.Event()
    lock = threading.Lock()
    admitted: List[int] = []
    rejected: List[str] = []
    done = threading.Semaphore(0)

    @breaker
    def probe(index: int) -> None:
        with lock:
            admitted.append(index)
        done.release()
        assert release.wait(timeout=NEVER)

    def arrive(index: int) -> None:
        start.wait(timeout=NEVER)
        try:
            probe(index)
        except CircuitOpenError as error:
            with lock:
                rejected.append(error.reason)
            done.release()

    threads = [threading.Thread(target=arrive, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for _ in range(THREADS):
        assert done.acquire(timeout=NEVER)
    # Every thread has been admitted or rejected while the probes still run.
    assert len(admitted) == probes
    assert rejected == ["half_open_full"] * (THREADS - probes)
    release.set()
    for t in threads:
        t.join()
    assert breaker.state == "closed"


@pytest.mark.parametrize("probes", [1, 2])
def test_half_open_admits_exactly_the_probe_limit_across_tasks(probes: int) -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("api", failure_threshold=1, half_open_max_calls=probes, success_threshold=probes, clock=clock)
    breaker.acquire().failure()
    clock.advance(60)

    async def main() -> None:
        release = asyncio.Event()
        admitted: List[int] = []

        @breaker
        async def probe(index: int) -> int:
            admitted.append(index)
            await release.wait()
            return index

        tasks = [asyncio.ensure_future(probe(i)) for i in range(THREADS)]
        # Let every task reach the breaker.
        while sum(t.done() for t in tasks) < THREADS - probes:
            await asyncio.sleep(0)
        assert len(admitted) == probes
        release.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        errors = [r for r in results if isinstance(r, CircuitOpenError)]
        assert len(errors) == THREADS - probes
        assert all(e.reason == "half_open_full" for e in errors)

    asyncio.run(main())
    assert breaker.state == "closed"


def test_a_cancelled_task_releases_its_half_open_slot() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("api", failure_threshold=1, success_threshold=1, clock=clock)
    breaker.acquire().failure()
    clock.advance(60)

    async def main() -> None:
        started = asyncio.Event()

        @breaker
        async def hang() -> None:
            started.set()
            await asyncio.Event().wait()

        task = asyncio.ensure_future(hang())
        await started.wait()
        with pytest.raises(CircuitOpenError):
            await hang()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert breaker.state == "half_open"

        # The slot is free again: the next call is the probe, and closes the breaker.
        @breaker
        async def ok() -> str:
            return "ok"

        assert await ok() == "ok"

    asyncio.run(main())
    assert breaker.state == "closed"
    stats = breaker.stats
    assert stats.released == 1 and stats.failed == 1


def test_a_cancelled_async_with_block_releases_its_slot() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("api", failure_threshold=1, clock=clock)
    breaker.acquire().failure()
    clock.advance(60)

    async def main() -> None:
        inside = asyncio.Event()

        async def block() -> None:
            async with breaker:
                inside.set()
                await asyncio.Event().wait()

        task = asyncio.ensure_future(block())
        await inside.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert breaker.acquire().is_probe


def test_a_coroutine_closed_without_finishing_releases_its_slot() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("api", failure_threshold=1, clock=clock)
    breaker.acquire().failure()
    clock.advance(60)

    class Suspend:
        def __await__(self):  # type: ignore[no-untyped-def]
            yield "suspended"

    @breaker
    async def hang() -> None:
        await Suspend()

    coroutine = hang()
    # Runs up to the first suspension: the probe slot is taken.
    assert coroutine.send(None) == "suspended"
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    coroutine.close()  # what garbage collection of an abandoned task does
    assert breaker.acquire().is_probe


def test_listeners_hear_transitions_in_order_across_threads() -> None:
    # Two listeners, threads switching while listeners run: each listener
    # hears every transition, each starting where the one before it ended.
    clock = ManualClock()
    heard: List[List[str]] = [[], []]
    breaker = CircuitBreaker(
        "contended",
        failure_threshold=1,
        success_threshold=1,
        timeout=1e-6,
        half_open_max_calls=4,
        clock=clock,
    )
    for log in heard:
        breaker.add_listener(lambda _b, old, new, log=log: log.append(f"{old}->{new}"))

    def hammer(thread: int) -> None:
        for i in range(3_000):
            try:
                permit = breaker.acquire()
            except CircuitOpenError:
                pass
            else:
                if (i * 7 + thread) % 3 == 0:
                    permit.failure()
                else:
                    permit.success()
            if i % 5 == 0:
                clock.advance(1e-6)

    run_threads(hammer)
    made = breaker.stats.state_transitions
    assert made > 300
    for log in heard:
        assert len(log) == made
        state = "closed"
        for i, transition in enumerate(log):
            old, new = transition.split("->")
            assert old == state, f"transition {i} of {made}: {transition} after {state}"
            state = new
        assert state == breaker.state
