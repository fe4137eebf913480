"""ns per call of seawall's Python policies and of their peers, in one run.

    .venv/bin/pip install -r python/bench/requirements.txt   # the peers
    .venv/bin/python python/bench/bench.py [--rounds 9] [--markdown]

Each case is timed in a plain loop (`for _ in repeat(None, n): fn()`), the
same loop for every case, with the garbage collector off, in interleaved rounds;
the result is the fastest round, the usual choice for micro-benchmarks on a
shared machine. "added" is a case minus its bare baseline (the same loop
calling the undecorated function). Peers that are not installed are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import sys
import time
from importlib import metadata
from itertools import repeat
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import seawall

perf = time.perf_counter_ns


def sync_loop(fn: Callable[[], Any], n: int) -> int:
    start = perf()
    for _ in repeat(None, n):
        fn()
    return perf() - start


def raising_loop(fn: Callable[[], Any], error: type, n: int) -> int:
    start = perf()
    for _ in repeat(None, n):
        try:
            fn()
        except error:
            pass
    return perf() - start


async def async_loop(fn: Callable[[], Awaitable[Any]], n: int) -> int:
    start = perf()
    for _ in repeat(None, n):
        await fn()
    return perf() - start


async def async_raising_loop(fn: Callable[[], Awaitable[Any]], error: type, n: int) -> int:
    start = perf()
    for _ in repeat(None, n):
        try:
            await fn()
        except error:
            pass
    return perf() - start


# A case: (group, name, kind, callable, error type for raising cases)
Case = Tuple[str, str, str, Any, Optional[type]]


def work() -> int:
    return 1


async def awork() -> int:
    return 1


def raise_value_error() -> None:
    raise ValueError("baseline")


def cases() -> List[Case]:
    out: List[Case] = []

    def add(group: str, name: str, kind: str, fn: Any, error: Optional[type] = None) -> None:
        out.append((group, name, kind, fn, error))

    # --- baselines ---------------------------------------------------------
    add("baseline", "bare function", "sync", work)
    add("baseline", "bare coroutine", "async", awork)
    add("baseline", "raise + catch ValueError (pure Python)", "raise", raise_value_error, ValueError)

    # --- breaker, closed ---------------------------------------------------
    breaker = seawall.CircuitBreaker("bench", failure_threshold=10**6)
    add("breaker closed", "seawall", "sync", breaker(work))
    add("breaker closed async", "seawall", "async", breaker(awork))
    opened = seawall.CircuitBreaker("bench-open", failure_threshold=1, timeout=3600.0)
    opened.acquire().failure()
    add("breaker open (raise + catch)", "seawall", "raise", opened(work), seawall.CircuitOpenError)

    def with_block() -> int:
        with breaker:
            return work()

    async def async_with_block() -> int:
        async with breaker:
            return 1

    add("breaker closed", "seawall `with breaker:` block", "sync", with_block)
    add("breaker closed async", "seawall `async with breaker:` block", "async", async_with_block)
    add("breaker open async (raise + catch)", "seawall", "araise", opened(awork), seawall.CircuitOpenError)

    try:
        import pybreaker

        pb = pybreaker.CircuitBreaker(fail_max=10**6)
        add("breaker closed", "pybreaker", "sync", pb(work))

        def pb_block() -> int:
            with pb.calling():
                return work()

        add("breaker closed", "pybreaker `with calling():` block", "sync", pb_block)
        pb_open = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=3600)
        pb_open.open()
        add("breaker open (raise + catch)", "pybreaker", "raise", pb_open(work), pybreaker.CircuitBreakerError)
    except ImportError:
        pass

    try:
        import circuitbreaker

        cb = circuitbreaker.CircuitBreaker(failure_threshold=10**6, recovery_timeout=3600, name="bench")
        add("breaker closed", "circuitbreaker", "sync", cb(work))
        cb_async = circuitbreaker.CircuitBreaker(failure_threshold=10**6, recovery_timeout=3600, name="bench-async")
        add("breaker closed async", "circuitbreaker", "async", cb_async(awork))
        cb_open = circuitbreaker.CircuitBreaker(failure_threshold=1, recovery_timeout=3600, name="bench-open")
        guarded = cb_open(raise_value_error)
        try:
            guarded()
        except ValueError:
            pass
        add("breaker open (raise + catch)", "circuitbreaker", "raise", guarded, circuitbreaker.CircuitBreakerError)
    except ImportError:
        pass

    try:
        from datetime import timedelta

        import aiobreaker

        ab = aiobreaker.CircuitBreaker(fail_max=10**6)
        add("breaker closed async", "aiobreaker", "async", ab(awork))
        ab_open = aiobreaker.CircuitBreaker(fail_max=1, timeout_duration=timedelta(hours=1))
        ab_open.open()
        add("breaker open async (raise + catch)", "aiobreaker", "araise", ab_open(awork), aiobreaker.CircuitBreakerError)
    except ImportError:
        pass

    # --- retry, first try succeeds -----------------------------------------
    add("retry first try", "seawall", "sync", seawall.retry(max_attempts=3)(work))
    add("retry first try async", "seawall", "async", seawall.retry(max_attempts=3)(awork))
    try:
        import tenacity

        add("retry first try", "tenacity", "sync", tenacity.retry(stop=tenacity.stop_after_attempt(3))(work))
        add("retry first try async", "tenacity", "async", tenacity.retry(stop=tenacity.stop_after_attempt(3))(awork))
    except ImportError:
        pass
    try:
        import stamina

        add("retry first try", "stamina", "sync", stamina.retry(on=Exception, attempts=3)(work))
        add("retry first try async", "stamina", "async", stamina.retry(on=Exception, attempts=3)(awork))
    except ImportError:
        pass
    try:
        import backoff

        add("retry first try", "backoff", "sync", backoff.on_exception(backoff.expo, Exception, max_tries=3)(work))
        add("retry first try async", "backoff", "async", backoff.on_exception(backoff.expo, Exception, max_tries=3)(awork))
    except ImportError:
        pass

    # --- rate limiter acquire (never refused: a huge rate) -------------------
    limiter = seawall.RateLimiter(10**9, burst=10**9)
    add("rate limiter acquire", "seawall try_acquire()", "sync", limiter.try_acquire)
    add("rate limiter acquire", "seawall acquire()", "sync", limiter.acquire)
    add("rate limiter acquire async", "seawall await wait()", "async", limiter.wait)
    add("rate limiter acquire", "seawall @limiter decorator", "sync", limiter(work))
    add("rate limiter acquire async", "seawall @limiter decorator", "async", limiter(awork))

    def limiter_block() -> int:
        with limiter:
            return work()

    async def limiter_async_block() -> int:
        async with limiter:
            return 1

    add("rate limiter acquire", "seawall `with limiter:` block", "sync", limiter_block)
    add("rate limiter acquire async", "seawall `async with limiter:` block", "async", limiter_async_block)
    try:
        import limits
        from limits.storage import MemoryStorage
        from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

        item = limits.parse("1000000000/second")
        fixed = FixedWindowRateLimiter(MemoryStorage())
        add("rate limiter acquire", "limits fixed window hit()", "sync", lambda: fixed.hit(item))
        del MovingWindowRateLimiter  # stores every hit: not comparable at this rate
    except ImportError:
        pass
    try:
        import aiolimiter

        al = aiolimiter.AsyncLimiter(10**9, 1)
        add("rate limiter acquire async", "aiolimiter acquire()", "async", al.acquire)

        async def al_block() -> int:
            async with al:
                return 1

        add("rate limiter acquire async", "aiolimiter `async with` block", "async", al_block)
    except ImportError:
        pass
    return out


def calibrate(kind: str, fn: Any, error: Optional[type], loop: asyncio.AbstractEventLoop) -> int:
    n = 1000
    while True:
        elapsed = run(kind, fn, error, n, loop)
        if elapsed > 20_000_000 or n >= 5_000_000:
            return max(1000, int(n * 20_000_000 / max(elapsed, 1)))
        n *= 4


def run(kind: str, fn: Any, error: Optional[type], n: int, loop: asyncio.AbstractEventLoop) -> int:
    if kind == "sync":
        return sync_loop(fn, n)
    if kind == "raise":
        assert error is not None
        return raising_loop(fn, error, n)
    if kind == "async":
        return loop.run_until_complete(async_loop(fn, n))
    assert error is not None
    return loop.run_until_complete(async_raising_loop(fn, error, n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()

    loop = asyncio.new_event_loop()
    all_cases = cases()
    sizes = [calibrate(kind, fn, error, loop) for _, _, kind, fn, error in all_cases]
    best: Dict[int, float] = {}
    gc.disable()
    try:
        for _ in range(args.rounds):
            for index, (_, _, kind, fn, error) in enumerate(all_cases):
                ns = run(kind, fn, error, sizes[index], loop) / sizes[index]
                best[index] = min(best.get(index, ns), ns)
    finally:
        gc.enable()
        loop.close()

    baseline = {
        "sync": next(best[i] for i, c in enumerate(all_cases) if c[1] == "bare function"),
        "async": next(best[i] for i, c in enumerate(all_cases) if c[1] == "bare coroutine"),
    }
    rows = []
    for index, (group, name, kind, _, _) in enumerate(all_cases):
        base = baseline["async"] if kind in ("async", "araise") else baseline["sync"]
        added = best[index] - base if group != "baseline" else None
        rows.append((group, name, best[index], added))

    header = f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.machine()}, seawall {seawall.__version__}"
    versions = []
    for peer in ("pybreaker", "circuitbreaker", "aiobreaker", "tenacity", "stamina", "backoff", "limits", "aiolimiter"):
        try:
            versions.append(f"{peer} {metadata.version(peer)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{peer} (not installed)")
    header += "; " + ", ".join(versions)
    if args.markdown:
        print(header + "\n")
        print("| case | implementation | ns per call | added to the bare call (ns) |")
        print("|---|---|---:|---:|")
        for group, name, ns, added in rows:
            print(f"| {group} | {name} | {ns:.0f} | {'' if added is None else f'{added:.0f}'} |")
    else:
        print(header)
        for group, name, ns, added in rows:
            extra = "" if added is None else f"  (+{added:.0f})"
            print(f"{group:38} {name:32} {ns:9.0f} ns{extra}")

    def lookup(group: str, name: str) -> Optional[Tuple[float, Optional[float]]]:
        for g, n, ns, added in rows:
            if g == group and n == name:
                return ns, added
        return None

    print()
    closed = lookup("breaker closed", "seawall")
    peers = [added for g, n, _, added in rows if g == "breaker closed" and n != "seawall" and added is not None]
    if closed and closed[1] is not None:
        verdict = "met" if closed[1] < 150 else "MISSED"
        print(f"target: closed breaker adds < 150 ns: {closed[1]:.0f} ns ({verdict})")
        if peers:
            ratio = min(peers) / max(closed[1], 1e-9)
            verdict = "met" if ratio >= 4 else "MISSED"
            print(f"target: >= 4x less than the fastest peer ({min(peers):.0f} ns): {ratio:.1f}x ({verdict})")
    first = lookup("retry first try", "seawall")
    if first and first[1] is not None:
        verdict = "met" if first[1] < 300 else "MISSED"
        print(f"target: first-try retry adds < 300 ns: {first[1]:.0f} ns ({verdict})")
    rejected = lookup("breaker open (raise + catch)", "seawall")
    if rejected:
        verdict = "met" if rejected[0] < 600 else "MISSED"
        print(f"target: open rejection, raise + catch, < 600 ns: {rejected[0]:.0f} ns ({verdict})")
    def ratio(group: str, name: str, group_ref: str, name_ref: str, bound: float, what: str) -> None:
        case, ref = lookup(group, name), lookup(group_ref, name_ref)
        if case and ref:
            r = case[0] / ref[0]
            print(f"target: {what} within {bound:g}x: {r:.2f}x ({'met' if r <= bound else 'MISSED'})")

    ratio("breaker closed", "seawall `with breaker:` block", "breaker closed", "seawall", 2, "`with breaker:` against the decorator")
    ratio(
        "breaker closed async", "seawall `async with breaker:` block", "breaker closed async", "seawall", 2,
        "`async with breaker:` against the async decorator",
    )
    ratio(
        "rate limiter acquire async", "seawall `async with limiter:` block", "rate limiter acquire async",
        "seawall @limiter decorator", 2, "`async with limiter:` against the async decorator",
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
