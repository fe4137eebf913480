"""Shared state on Redis (seawall.RedisStore), against real redis-servers that
the tests start on free 127.0.0.1 ports (no persistence) and kill after.

What the Rust tests of the `redis` feature check, at Python level: breakers
on one name (in this process and in separate processes) open together when
the fleet's failures cross the threshold, and only then; half-open admits
exactly the limit across processes; a probe that never answers frees its
slot when its lease expires (and not before), a cancelled one at once; Redis
hung, killed and restarted: no call waits beyond the timeout, the fallback
policy holds, and the shared state resumes without the local counts; the
fleet's rate limit holds within the burst across processes; bad arguments.
Where Redis's time must pass, a condition is polled with a generous bound; no
assertion reads a wall clock (a call that gave up on Redis shows it by the
fallback's decision it returned, a lease by its expiry on Redis's clock).
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

import seawall
from seawall import (
    CircuitOpenError,
    RateLimitedError,
    RedisStore,
    RedisUnavailableError,
    SharedCircuitBreaker,
)

BOUND = 20.0
"""Seconds a polled condition may take before the test fails."""


# --- the server -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_cluster_port() -> int:
    """A port for a cluster node: free, and its cluster bus port (10,000
    above) too, which must stay below 65,536."""
    while True:
        port = free_port()
        if port < 55_000:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + 10_000))
                    return port
                except OSError:
                    pass


class RedisServer:
    """A redis-server of our own on 127.0.0.1, without persistence."""

    def __init__(self, *extra: str, port: Optional[int] = None) -> None:
        self.port = port if port is not None else free_port()
        self.extra = extra
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--protected-mode", "no",
                "--loglevel", "warning",
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + BOUND
        while True:
            assert self.process.poll() is None, "redis-server exited at start"
            try:
                if self.command("PING") == b"+PONG\r\n":
                    return
            except OSError:
                pass
            assert time.monotonic() < deadline, "redis-server did not answer"
            time.sleep(0.005)

    def kill(self) -> None:
        """Kills the server: its data is gone."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()
            self.process = None

    def restart(self) -> None:
        """Starts the server again on the same port, empty."""
        self.kill()
        self.start()

    def freeze(self) -> None:
        """SIGSTOP: connections stay open and nothing is answered (a hung
        server, or a cut network)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def command(self, *args: str) -> bytes:
        """One command in RESP; the first reply's raw bytes (a bulk string whole)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            request = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
            s.sendall(request.encode())
            reply = b""
            while True:
                chunk = s.recv(65536)
                assert chunk, "redis closed the connection"
                reply += chunk
                header, _, rest = reply.partition(b"\r\n")
                if not _:
                    continue
                if header.startswith(b"$"):
                    if len(rest) >= int(header[1:]) + 2:
                        return reply
                else:
                    return reply

    def time_micros(self) -> int:
        """Redis's clock (``TIME``) in microseconds: the clock the shared rules run on."""
        script = "local t = redis.call('TIME') return t[1] * 1000000 + t[2]"
        reply = self.command("EVAL", script, "0")
        assert reply.startswith(b":"), reply
        return int(reply[1:].strip())

    def hget(self, key: str, field: str) -> Optional[str]:
        header, _, rest = self.command("HGET", key, field).partition(b"\r\n")
        return None if header == b"$-1" else rest[: int(header[1:])].decode()

    def hset(self, key: str, field: str, value: str) -> None:
        assert self.command("HSET", key, field, value).startswith(b":")

    def script_calls(self) -> int:
        """Scripts run (EVALSHA and EVAL that succeeded)."""
        info = self.command("INFO", "commandstats").decode()
        total = 0
        for line in info.splitlines():
            for command in ("cmdstat_evalsha:", "cmdstat_eval:"):
                if line.startswith(command):
                    fields = dict(f.split("=") for f in line[len(command):].split(","))
                    total += int(fields["calls"]) - int(fields.get("failed_calls", 0))
        return total


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.fail(
            "redis-server is missing: apt-get install redis-server "
            "(scripts/ci/40-python.sh does)"
        )
    server = RedisServer()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def eventually(what: str, condition: Callable[[], bool], bound: float = BOUND) -> float:
    """Polls ``condition`` every 2 ms; the seconds it took; fails after ``bound``."""
    start = time.monotonic()
    while not condition():
        elapsed = time.monotonic() - start
        assert elapsed < bound, f"{what}: not within {bound} s"
        time.sleep(0.002)
    return time.monotonic() - start


def store(server: RedisServer, prefix: str, **options: Any) -> RedisStore:
    """A store with short intervals for tests (each has its own connection,
    as separate processes have)."""
    options.setdefault("sync_interval", 0.02)
    options.setdefault("timeout", 0.2)
    return RedisStore(server.url, prefix=prefix, **options)


class Down(Exception):
    pass


def boom() -> None:
    raise Down("down")


def fail(cb: SharedCircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(Down):
            cb.call(boom)


def trip_and_wait_out(cb: SharedCircuitBreaker) -> None:
    """Trips ``cb`` (threshold 1) and waits until Redis's open duration is over."""
    fail(cb)
    eventually("open", lambda: cb.sync().state == "open")
    eventually("the open duration ends", lambda: cb.shared_state().open_remaining == 0.0)


# --- separate processes -----------------------------------------------------

WORKER = r"""
import json, sys, time
import seawall

config = json.loads(sys.argv[1])
store = seawall.RedisStore(config["url"], **config["store"])
cb = store.circuit_breaker(config["name"], **config.get("breaker", {}))
limiter = store.rate_limiter(config["name"], **config["limiter"]) if "limiter" in config else None
held = None

def boom():
    raise RuntimeError("down")

print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    command = json.loads(line)
    op = command["op"]
    reply = {}
    if op == "fail":
        for _ in range(command["n"]):
            try:
                cb.call(boom)
            except RuntimeError:
                pass
        cb.sync()  # the failures are in Redis when the reply is
    elif op == "wait_state":
        start = time.monotonic()
        while cb.state != command["state"] and time.monotonic() - start < command["bound"]:
            time.sleep(0.002)
        reply = {"state": cb.state, "after": time.monotonic() - start}
    elif op == "acquire":
        # This process's view may end the open duration a round trip after
        # Redis does: an "open" rejection is retried when it says.
        start = time.monotonic()
        while True:
            try:
                held = cb.acquire()
                reply = {"admitted": True, "probe": held.is_probe}
                break
            except seawall.CircuitOpenError as error:
                reply = {"admitted": False, "reason": error.reason}
                if error.reason != "open" or time.monotonic() - start > 20:
                    break
                time.sleep(error.retry_after)
    elif op == "succeed":
        held.success()
        held = None
    elif op == "try_acquire":
        reply = {"admitted": sum(limiter.try_acquire() for _ in range(command["n"]))}
    elif op == "hammer":
        while time.time() < command["at"]:
            time.sleep(0.0005)
        admitted, start = 0, time.time()
        while time.time() < command["at"] + command["seconds"]:
            admitted += limiter.try_acquire()
        reply = {"admitted": admitted, "start": start, "end": time.time()}
    elif op == "exit":
        break
    print(json.dumps(reply), flush=True)
"""


class Worker:
    """A separate Python process with its own store and breaker (and limiter),
    driven by JSON lines."""

    def __init__(self, config: Dict[str, Any]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER, json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.replies: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.reply() == {"ready": True}

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.replies.put(line)
        self.replies.put(None)

    def send(self, op: str, **args: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.process.stdin.flush()

    def reply(self) -> Dict[str, Any]:
        line = self.replies.get(timeout=BOUND + 10)
        assert line is not None, "the worker exited"
        answer: Dict[str, Any] = json.loads(line)
        return answer

    def request(self, op: str, **args: Any) -> Dict[str, Any]:
        self.send(op, **args)
        return self.reply()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def workers() -> Iterator[Callable[..., List[Worker]]]:
    started: List[Worker] = []

    def start(count: int, config: Dict[str, Any]) -> List[Worker]:
        new = [Worker(config) for _ in range(count)]
        started.extend(new)
        return new

    yield start
    for worker in started:
        worker.kill()


def fleet_config(server: RedisServer, prefix: str, name: str, **breaker: Any) -> Dict[str, Any]:
    return {
        "url": server.url,
        "name": name,
        "store": {"prefix": prefix, "sync_interval": 0.02, "timeout": 0.2},
        "breaker": {"timeout": 60.0, **breaker},
    }


def test_processes_on_one_name_open_together_when_the_fleets_failures_cross_the_threshold(
    redis: RedisServer, prefix: str, workers: Callable[..., List[Worker]]
) -> None:
    fleet = workers(4, fleet_config(redis, prefix, "db", failure_threshold=8))
    observer = store(redis, prefix).circuit_breaker("db", failure_threshold=8, timeout=60.0)
    for worker in fleet[:3]:
        worker.request("fail", n=2)
    shared = observer.sync()
    assert (shared.state, shared.consecutive_failures) == ("closed", 6)
    for worker in fleet:
        assert worker.request("wait_state", state="closed", bound=0)["state"] == "closed"

    fleet[3].request("fail", n=2)
    for worker in fleet:
        worker.send("wait_state", state="open", bound=BOUND)
    seen = [worker.reply() for worker in fleet]
    assert [s["state"] for s in seen] == ["open"] * 4, seen
    eventually("the observer sees Open", lambda: observer.state == "open")
    assert observer.shared_state().trips == 1
    with pytest.raises(CircuitOpenError) as rejected:
        observer.call(lambda: None)
    assert rejected.value.reason == "open"
    assert 0 < (rejected.value.retry_after or 0) <= 60.0


def test_half_open_admits_exactly_the_limit_across_processes(
    redis: RedisServer, prefix: str, workers: Callable[..., List[Worker]]
) -> None:
    options = {"failure_threshold": 1, "timeout": 0.3, "half_open_max_calls": 2}
    fleet = workers(5, fleet_config(redis, prefix, "probes", **options))
    cb = store(redis, prefix).circuit_breaker("probes", **options)
    trip_and_wait_out(cb)
    for worker in fleet:
        worker.send("acquire")
    answers = [worker.reply() for worker in fleet]
    admitted = [w for w, a in zip(fleet, answers) if a["admitted"]]
    assert len(admitted) == 2, answers
    assert all(a["probe"] for a in answers if a["admitted"])
    assert sorted(a.get("reason") for a in answers if not a["admitted"]) == ["half_open_full"] * 3
    shared = cb.shared_state()
    assert (shared.state, shared.probes_in_flight) == ("half_open", 2)
    for worker in admitted:
        worker.request("succeed")
    eventually("closed by two successful probes", lambda: cb.sync().state == "closed")


def test_a_probe_whose_process_died_frees_its_slot_when_its_lease_expires(
    redis: RedisServer, prefix: str, workers: Callable[..., List[Worker]]
) -> None:
    lease = 30.0
    options = {"failure_threshold": 1, "timeout": 0.3}
    config = fleet_config(redis, prefix, "lease", **options)
    config["store"]["probe_lease"] = lease
    [worker] = workers(1, config)
    cb = store(redis, prefix, probe_lease=lease).circuit_breaker("lease", **options)
    trip_and_wait_out(cb)
    before = redis.time_micros()
    assert worker.request("acquire") == {"admitted": True, "probe": True}
    after = redis.time_micros()
    worker.kill()
    # The slot is held for the lease from when it was granted, on the fleet's
    # clock: Redis's, as the worker reckons it from its last reply (within
    # that reply's round trip, far below a second).
    key = f"{{{prefix}:breaker:lease}}"
    token, expiry = (redis.hget(key, "leases") or "").split()
    granted = int(expiry) - lease * 1e6
    assert before - 1e6 <= granted <= after + 1e6, (before, granted, after)
    # Read first: a view from before the probe may say open a moment more
    # (its reckoning of Redis's clock lags by up to a round trip).
    cb.sync()
    with pytest.raises(CircuitOpenError) as rejected:
        cb.acquire()
    assert rejected.value.reason == "half_open_full"

    # Redis's clock passes the expiry (the lease is moved into the past
    # rather than waited for): the dead probe's slot is free.
    redis.hset(key, "leases", f"{token} {redis.time_micros() - 1}")
    cb.sync()
    permit = cb.acquire()
    assert permit.is_probe
    permit.success()


def test_the_fleets_rate_limit_holds_within_the_burst_across_processes(
    redis: RedisServer, prefix: str, workers: Callable[..., List[Worker]]
) -> None:
    rate, burst = 20, 5
    config = fleet_config(redis, prefix, "api")
    config["limiter"] = {"rate": rate, "period": 1.0, "burst": burst}
    fleet = workers(4, config)
    at = time.time() + 0.5
    for worker in fleet:
        worker.send("hammer", at=at, seconds=1.0)
    runs = [worker.reply() for worker in fleet]
    admitted = sum(r["admitted"] for r in runs)
    span = max(r["end"] for r in runs) - min(r["start"] for r in runs)
    assert burst <= admitted <= burst + rate * span + 1, (admitted, span, runs)

    # Exactly the burst, across processes, when the rate adds nothing.
    config["name"] = "scarce"
    config["limiter"] = {"rate": 1, "period": 3600.0, "burst": burst}
    fleet = workers(4, config)
    for worker in fleet:
        worker.send("try_acquire", n=5)
    assert sum(worker.reply()["admitted"] for worker in fleet) == burst


# --- in one process ---------------------------------------------------------


def test_breakers_on_one_name_open_together_and_only_at_the_threshold(
    redis: RedisServer, prefix: str
) -> None:
    a, b, c = (store(redis, prefix).circuit_breaker("db", 6, timeout=60.0) for _ in range(3))
    fail(a, 2)
    fail(b, 3)
    b.sync()  # b's failures are in Redis (they are reported in the background)
    assert a.sync().consecutive_failures == 2 + 3
    for cb in (a, b, c):
        cb.sync()
        assert cb.state == "closed"
    # A success ends the fleet's run.
    c.call(lambda: None)
    assert c.sync().consecutive_failures == 0
    fail(c, 5)
    assert c.sync().state == "closed"
    fail(a)
    for cb in (a, b, c):
        eventually("every breaker sees Open", lambda: cb.state == "open")
    assert c.stats.rejected == 0
    with pytest.raises(CircuitOpenError):
        c.call(lambda: None)
    assert c.stats.rejected == 1


def test_the_local_surface_decorators_blocks_stats_and_listeners(
    redis: RedisServer, prefix: str
) -> None:
    changes: List[tuple[str, str, str]] = []
    cb = store(redis, prefix).circuit_breaker(
        "surface",
        failure_threshold=3,
        timeout=60.0,
        exclude=KeyError,
        on_state_change=lambda breaker, old, new: changes.append((breaker.name, old, new)),
    )
    assert isinstance(cb, SharedCircuitBreaker)
    assert (cb.name, cb.failure_threshold, cb.timeout, cb.half_open_max_calls) == (
        "surface", 3, 60.0, 1,
    )

    @cb
    def double(x: int) -> int:
        return 2 * x

    @cb
    async def triple(x: int) -> int:
        await asyncio.sleep(0)
        return 3 * x

    class Repository:
        @cb
        def get(self, key: int) -> int:
            return key

    assert double(2) == 4
    assert double.__name__ == "double"
    assert Repository().get(0) == 0
    assert asyncio.run(triple(2)) == 6
    with cb as permit:
        assert not permit.is_probe
    with pytest.raises(KeyError):
        with cb:
            raise KeyError("excluded: released, not counted")

    async def blocks() -> None:
        async with cb:
            pass
        with pytest.raises(Down):
            async with cb:
                raise Down()

    asyncio.run(blocks())
    stats = cb.stats
    assert (stats.successful, stats.failed, stats.released) == (5, 1, 1)
    assert cb.sync().consecutive_failures == 1
    fail(cb, 2)
    eventually("open", lambda: cb.state == "open")
    eventually("the listener heard it", lambda: ("surface", "closed", "open") in changes)
    with pytest.raises(CircuitOpenError):
        double(1)
    with pytest.raises(CircuitOpenError):
        asyncio.run(triple(1))
    assert cb.stats.rejected == 2


def test_errors_count_as_the_local_breakers_do(redis: RedisServer, prefix: str) -> None:
    # An error failure_on does not name is a success: the dependency answered.
    cb = store(redis, prefix).circuit_breaker("classes", 2, timeout=60.0, failure_on=KeyError)
    for error in (KeyError, ValueError, KeyError):
        with pytest.raises(error):
            with cb:
                raise error()
    assert cb.sync().consecutive_failures == 1
    assert cb.state == "closed"
    assert (cb.stats.failed, cb.stats.successful) == (2, 1)

    # A limiter's refusal below the breaker is not the dependency's failure.
    limiter = seawall.RateLimiter(1, period=3600.0, max_wait=0)
    guarded = store(redis, prefix).circuit_breaker("over-limiter", 2, timeout=60.0)

    @guarded
    @limiter
    def limited() -> int:
        return 1

    assert limited() == 1
    for _ in range(3):
        with pytest.raises(RateLimitedError):
            limited()
    assert guarded.sync().consecutive_failures == 0
    assert guarded.state == "closed"
    assert guarded.stats.released == 3

    # Async work through the sync entry point is refused, not counted.
    async def work() -> None:
        raise Down()

    with pytest.raises(TypeError, match="call_async"):
        guarded.call(work)
    assert guarded.stats.released == 4


def test_a_decorated_generator_is_recorded_when_its_iteration_ends(
    redis: RedisServer, prefix: str
) -> None:
    cb = store(redis, prefix).circuit_breaker("generator", 2, timeout=60.0)

    @cb
    def rows(fail: bool) -> Iterator[int]:
        yield 1
        if fail:
            raise Down()
        yield 2

    assert list(rows(False)) == [1, 2]
    with pytest.raises(Down):
        list(rows(True))
    with pytest.raises(Down):
        list(rows(True))
    assert (cb.stats.successful, cb.stats.failed) == (1, 2)
    eventually("open", lambda: cb.sync().state == "open")


def test_ctrl_c_in_a_predicate_or_a_listener_propagates(redis: RedisServer, prefix: str) -> None:
    def interrupted(error: BaseException) -> bool:
        raise KeyboardInterrupt

    cb = store(redis, prefix).circuit_breaker("ctrl-c", 1, timeout=60.0, failure_on=interrupted)
    with pytest.raises(KeyboardInterrupt) as raised:
        cb.call(boom)
    assert isinstance(raised.value.__context__, Down)
    assert cb.stats.released == 1
    assert cb.state == "closed"

    heard: List[tuple[str, str]] = []

    def exits(breaker: Any, old: str, new: str) -> None:
        heard.append((old, new))
        raise SystemExit(3)

    cb = store(redis, prefix).circuit_breaker("exit", 1, timeout=60.0, on_state_change=exits)
    with pytest.raises(Down):
        cb.call(boom)

    # The trip is seen by a sync (this one, or the background task's): the
    # call that tells the listener raises what it raised, or the next call
    # when the background thread told it.
    def until_raised() -> bool:
        cb.sync()
        return False

    with pytest.raises(SystemExit):
        eventually("the listener's SystemExit is raised", until_raised)
    assert heard == [("closed", "open")]
    # Told once: the next call does not raise it again.
    assert cb.sync().state == "open"


def test_listeners_hear_every_change_in_order(redis: RedisServer, prefix: str) -> None:
    heard: List[tuple[str, str]] = []
    cb = store(redis, prefix).circuit_breaker(
        "ordered",
        1,
        success_threshold=1,
        timeout=0.3,
        on_state_change=lambda breaker, old, new: heard.append((old, new)),
    )
    for _ in range(3):
        trip_and_wait_out(cb)
        permit = cb.acquire()
        assert permit.is_probe
        permit.success()
    cb.force_open()
    cb.reset()
    expected = [("closed", "open"), ("open", "half_open"), ("half_open", "closed")] * 3
    expected += [("closed", "forced_open"), ("forced_open", "closed")]
    eventually("every change is heard", lambda: len(heard) >= len(expected))
    assert heard == expected


def test_manual_control_reaches_every_process(redis: RedisServer, prefix: str) -> None:
    a = store(redis, prefix).circuit_breaker("manual")
    b = store(redis, prefix).circuit_breaker("manual")
    a.force_open()
    eventually("b forced open", lambda: b.state == "forced_open")
    with pytest.raises(CircuitOpenError) as rejected:
        b.call(lambda: None)
    assert (rejected.value.reason, rejected.value.retry_after) == ("forced_open", None)
    a.disable()
    eventually("b disabled", lambda: b.state == "disabled")
    fail(b, 10)
    assert b.sync().state == "disabled"
    a.reset()
    eventually("b closed", lambda: b.state == "closed")
    assert b.call(lambda: 7) == 7


def test_the_closed_hot_path_sends_nothing_to_redis(redis: RedisServer, prefix: str) -> None:
    cb = store(redis, prefix, sync_interval=60.0).circuit_breaker("hot")

    @cb
    async def work() -> int:
        return 1

    cb.sync()
    before = redis.script_calls()

    async def calls() -> None:
        for _ in range(1000):
            await work()

    for _ in range(1000):
        cb.call(lambda: None)
    asyncio.run(calls())
    assert redis.script_calls() == before
    assert cb.stats.successful == 2000


def test_a_cancelled_probe_frees_its_slot_at_once(redis: RedisServer, prefix: str) -> None:
    cb = store(redis, prefix).circuit_breaker("cancel", failure_threshold=1, timeout=0.3)
    trip_and_wait_out(cb)

    async def scenario() -> None:
        async def hang() -> None:
            await asyncio.sleep(60)

        task = asyncio.ensure_future(cb.call_async(hang))
        while cb.shared_state().probes_in_flight != 1:
            await asyncio.sleep(0.002)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    # Well before the 30 s lease.
    eventually("the slot is free", lambda: cb.shared_state().probes_in_flight == 0, bound=10)
    permit = cb.acquire()
    assert permit.is_probe
    permit.release()


def test_waiting_on_redis_releases_the_gil_and_never_blocks_the_event_loop(
    redis: RedisServer, prefix: str
) -> None:
    """Only another thread (or task) can thaw the frozen Redis: if the wait
    held the GIL (or blocked the event loop), nothing could run until the
    wait gave up, and the call would end in fallback rather than with
    Redis's answer. The store's timeout is long so that this is the only way
    for it to get one."""
    timeout = BOUND
    # The sync task stays quiet: the calls below are the ones that ask Redis.
    cb = store(redis, prefix, timeout=timeout, sync_interval=60.0).circuit_breaker(
        "gil", failure_threshold=1, timeout=0.3
    )
    trip_and_wait_out(cb)
    redis.freeze()

    # A thread waiting on Redis lets this one run (and thaw it). No forced
    # switch of the GIL: the waiter lets go of it only by waiting without it.
    asking = threading.Event()
    answered: List[bool] = []

    def ask() -> None:
        asking.set()
        answered.append(synced(cb))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        waiter = threading.Thread(target=ask)
        waiter.start()
        asking.wait()
        redis.thaw()
        waiter.join()
    finally:
        sys.setswitchinterval(interval)
    assert answered == [True], "the wait held the GIL until it gave up on Redis"
    assert not cb.is_fallback

    # Past the open duration an async call asks Redis for a probe slot; the
    # event loop keeps running (and thaws Redis); Redis's answer, a probe
    # slot, serves the call.
    redis.freeze()

    async def scenario() -> str:
        async def served() -> str:
            return "served"

        call = asyncio.ensure_future(cb.call_async(served))
        # The call runs until it waits on Redis, and only then this task.
        await asyncio.sleep(0)
        assert not call.done()
        redis.thaw()
        return await call

    assert asyncio.run(scenario()) == "served"
    assert not cb.is_fallback, "the event loop was blocked until the wait gave up"
    assert cb.stats.successful == 1


def synced(cb: SharedCircuitBreaker) -> bool:
    try:
        cb.sync()
    except RedisUnavailableError:
        return False
    return True


# --- Redis unavailable ------------------------------------------------------


def test_a_hung_redis_falls_back_to_the_last_shared_state_and_resumes_without_local_counts(
    redis: RedisServer, prefix: str
) -> None:
    timeout = 0.1
    cb = store(redis, prefix, timeout=timeout).circuit_breaker("db", 5, timeout=60.0)
    fail(cb, 2)
    assert cb.sync().consecutive_failures == 2

    redis.freeze()
    eventually("fallback", lambda: cb.is_fallback)
    # The local breaker starts from the fleet's two failures: three more open it.
    for _ in range(2):
        with pytest.raises(Down):
            cb.call(boom)
    assert cb.state == "closed"
    with pytest.raises(Down):
        cb.call(boom)
    assert cb.state == "open"
    with pytest.raises(CircuitOpenError):
        cb.call(boom)
    with pytest.raises(RedisUnavailableError):
        cb.sync()

    redis.thaw()
    eventually("resumed", lambda: not cb.is_fallback)
    # The fleet's state as it was: the local failures were not replayed.
    shared = cb.shared_state()
    assert (shared.state, shared.consecutive_failures) == ("closed", 2)
    assert cb.state == "closed"
    assert cb.call(lambda: "ok") == "ok"


def test_redis_killed_mid_run_and_restarted(redis: RedisServer, prefix: str) -> None:
    timeout = 0.1
    a = store(redis, prefix, timeout=timeout).circuit_breaker("api", 2, timeout=60.0)
    b = store(redis, prefix, timeout=timeout).circuit_breaker("api", 2, timeout=60.0)
    stop = threading.Event()
    served = [0, 0]
    errors: List[BaseException] = []

    def load() -> None:
        while not stop.is_set():
            try:
                a.call(lambda: None)
                served[0] += 1
            except CircuitOpenError:
                pass
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            time.sleep(0.001)

    async def load_async() -> None:
        async def work() -> None:
            return None

        while not stop.is_set():
            try:
                await a.call_async(work)
                served[1] += 1
            except CircuitOpenError:
                pass
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            await asyncio.sleep(0.001)

    threads = [
        threading.Thread(target=load),
        threading.Thread(target=lambda: asyncio.run(load_async())),
    ]
    for thread in threads:
        thread.start()
    try:
        eventually("the first sync", lambda: not a.is_fallback and a.stats.successful > 0)
        redis.kill()
        eventually("both fall back", lambda: a.is_fallback and b.is_fallback)
        before = list(served)
        eventually(
            "calls served in the outage",
            lambda: served[0] >= before[0] + 10 and served[1] >= before[1] + 10,
        )
        assert a.is_fallback
        redis.restart()
        eventually("both resume", lambda: not a.is_fallback and not b.is_fallback)
        # The shared state works again: b's failures open a too.
        fail(b, 2)
        eventually("a sees Open", lambda: a.state == "open")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors, errors
    assert a.stats.successful == sum(served)


def test_failing_closed_rejects_every_call_until_redis_answers(
    redis: RedisServer, prefix: str
) -> None:
    timeout = 0.1
    cb = store(redis, prefix, timeout=timeout, when_unavailable="fail_closed").circuit_breaker(
        "strict"
    )
    assert cb.call(lambda: 1) == 1
    redis.kill()
    eventually("fallback", lambda: cb.is_fallback)
    ran = []
    with pytest.raises(CircuitOpenError) as rejected:
        cb.call(lambda: ran.append(1))
    assert not ran
    assert (rejected.value.reason, rejected.value.retry_after) == ("open", 0.02)
    assert cb.state == "open"
    redis.restart()
    eventually("resumed", lambda: not cb.is_fallback)
    assert cb.call(lambda: 2) == 2


def test_the_rate_limiter_decides_locally_or_refuses_while_redis_is_down(
    redis: RedisServer, prefix: str
) -> None:
    timeout = 0.1
    quota = {"rate": 1, "period": 3600.0, "burst": 3}
    open_ = store(redis, prefix, timeout=timeout).rate_limiter("quota", **quota)
    closed = store(redis, prefix, timeout=timeout, when_unavailable="fail_closed").rate_limiter(
        "quota", **quota
    )
    # Two of the fleet's three cells are spent.
    assert open_.try_acquire() and closed.try_acquire()
    redis.kill()
    # Failing open: the local limiter has the whole quota of its own.
    assert [open_.try_acquire() for _ in range(4)] == [True, True, True, False]
    assert open_.is_fallback
    # Failing closed: refused until the next try.
    delay = closed.check()
    assert 0 < delay <= 0.02
    with pytest.raises(RateLimitedError):
        closed.acquire(max_wait=0)
    redis.restart()
    eventually("shared again", lambda: closed.try_acquire() and not closed.is_fallback)
    eventually("shared again", lambda: open_.try_acquire() and not open_.is_fallback)


# --- the rate limiter -------------------------------------------------------


def test_the_rate_limiter_shares_exactly_the_burst_and_waits_its_turn(
    redis: RedisServer, prefix: str
) -> None:
    limiters = [store(redis, prefix).rate_limiter("burst", 1, 3600, burst=10) for _ in range(4)]
    admitted: List[bool] = []
    lock = threading.Lock()

    def take(limiter: seawall.SharedRateLimiter) -> None:
        for _ in range(10):
            answer = limiter.try_acquire()
            with lock:
                admitted.append(answer)

    threads = [threading.Thread(target=take, args=(lim,)) for lim in limiters for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted.count(True) == 10
    with pytest.raises(ValueError, match="invalid n"):
        limiters[0].check(11)

    # 20 per second, burst 1: acquire and wait take turns 50 ms apart.
    # 4 per second, burst 1: acquire and wait take turns 250 ms apart. The
    # second turn is refused at first, then taken after its wait.
    paced = store(redis, prefix).rate_limiter("paced", 4, 1.0, burst=1, max_wait=1.0)
    paced.acquire()
    paced.acquire()
    assert paced.counts[1] >= 1, paced.counts

    async def waits() -> None:
        await paced.wait()
        async with paced:
            pass

        @paced
        async def limited() -> int:
            return 5

        assert await limited() == 5

    asyncio.run(waits())
    assert paced.counts[0] == 5, paced.counts
    with pytest.raises(RateLimitedError) as limited:
        paced.acquire(max_wait=0)
    assert 0 < limited.value.retry_after <= 0.25


def test_the_shared_limiters_wait_is_the_cores_decision(redis: RedisServer, prefix: str) -> None:
    limiter = store(redis, prefix).rate_limiter("patience", 1, 3600.0, burst=1, max_wait=2.0)
    limiter.acquire()
    # The next turn comes in an hour, past the wait: refused at the first
    # refusal, without sleeping first.
    with pytest.raises(RateLimitedError) as refused:
        limiter.acquire()
    assert refused.value.retry_after > 3000
    assert limiter.counts == (1, 1)
    with pytest.raises(RateLimitedError):
        asyncio.run(limiter.wait(max_wait=timedelta(seconds=2)))
    assert limiter.counts == (1, 2)
    # The decision itself: sleep for a turn within the wait, else give up.
    waiting = limiter._waiting(10.0)
    assert waiting.after(1.5) == 1.5
    with pytest.raises(RateLimitedError):
        waiting.after(11.0)
    # Without a limit, a far turn is slept for in bounded steps (no overflow).
    forever = store(redis, prefix).rate_limiter("forever", 1, 3600.0)
    assert forever.max_wait is None
    assert forever._waiting().after(1e9) == 3600.0
    with pytest.raises(ValueError, match="max_wait"):
        limiter.acquire(max_wait=-1)
    with pytest.raises(TypeError, match="max_wait"):
        limiter.acquire(max_wait="soon")  # type: ignore[arg-type]


# --- fork -------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_store_made_before_fork_works_in_the_child(redis: RedisServer, prefix: str) -> None:
    cb = store(redis, prefix).circuit_breaker("forked", failure_threshold=1, timeout=60.0)
    assert cb.sync().state == "closed"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            signal.alarm(int(BOUND))
            fail(cb)
            eventually("open in the child", lambda: cb.sync().state == "open")
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + BOUND + 5
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
    eventually("the parent sees the child's trip", lambda: cb.state == "open")


# --- arguments --------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, argument",
    [
        ({"url": 5}, TypeError, "url"),
        ({"url": "nope://x"}, ValueError, "url"),
        ({"prefix": ""}, ValueError, "prefix"),
        ({"prefix": 3}, TypeError, "prefix"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": -1}, ValueError, "timeout"),
        ({"timeout": "1"}, TypeError, "timeout"),
        ({"sync_interval": 0}, ValueError, "sync_interval"),
        ({"probe_lease": 0}, ValueError, "probe_lease"),
        ({"when_unavailable": "maybe"}, ValueError, "when_unavailable"),
        ({"when_unavailable": True}, TypeError, "when_unavailable"),
    ],
)
def test_bad_store_arguments_name_the_argument(
    kwargs: Dict[str, Any], error: type, argument: str
) -> None:
    args = {"url": "redis://127.0.0.1:1", **kwargs}
    with pytest.raises(error, match=f"invalid {argument}"):
        RedisStore(args.pop("url"), **args)


@pytest.mark.parametrize(
    "kwargs, error, argument",
    [
        ({"name": 3}, TypeError, "name"),
        ({"failure_threshold": 0}, ValueError, "failure_threshold"),
        ({"failure_threshold": "3"}, TypeError, "failure_threshold"),
        ({"success_threshold": 0}, ValueError, "success_threshold"),
        ({"timeout": -1.0}, ValueError, "timeout"),
        ({"half_open_max_calls": 0}, ValueError, "half_open_max_calls"),
        ({"open_duration_multiplier": 0.5}, ValueError, "open_duration_multiplier"),
        ({"failure_on": 3}, TypeError, "failure_on"),
        ({"exclude": "KeyError"}, TypeError, "exclude"),
        ({"on_state_change": 3}, TypeError, "on_state_change"),
    ],
)
def test_bad_breaker_arguments_name_the_argument(
    kwargs: Dict[str, Any], error: type, argument: str
) -> None:
    store = RedisStore("redis://127.0.0.1:1")
    args = {"name": "db", **kwargs}
    with pytest.raises(error, match=f"invalid {argument}"):
        store.circuit_breaker(args.pop("name"), **args)


def test_other_bad_arguments() -> None:
    store = RedisStore("redis://127.0.0.1:1")
    with pytest.raises(TypeError, match="invalid store"):
        SharedCircuitBreaker("redis://127.0.0.1:1", "db")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid window_size"):
        store.circuit_breaker("db", window_size=0)
    with pytest.raises(ValueError, match="invalid window_size"):
        store.circuit_breaker("db", window_size=10, window_duration=1.0)
    with pytest.raises(ValueError, match="invalid rate"):
        store.rate_limiter("api", 0)
    with pytest.raises(ValueError, match="invalid burst"):
        store.rate_limiter("api", 10, burst=0)
    with pytest.raises(ValueError, match="invalid period"):
        store.rate_limiter("api", 10, period=-1)
    with pytest.raises(ValueError, match="invalid max_wait"):
        store.rate_limiter("api", 10, max_wait=-1)
    limiter = store.rate_limiter("api", 10, burst=2)
    with pytest.raises(ValueError, match="invalid n"):
        limiter.check(3)
    with pytest.raises(TypeError, match="invalid n"):
        limiter.check("1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid max_wait"):
        limiter.acquire(max_wait=-1)
    cb = store.circuit_breaker("db")
    with pytest.raises(TypeError, match="invalid callback"):
        cb.add_listener(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid callback"):
        cb.remove_listener(print)
    # Nothing listens on port 1: the store does not connect until used, and
    # says so rather than wait.
    assert store.ping() is False
    assert "redis://" not in repr(store)


# --- windows, corruption, the registry -----------------------------------------


def test_a_window_is_shared_by_the_fleet(redis: RedisServer, prefix: str) -> None:
    """Two processes' calls fill one count window; their failure rate trips
    it for both, and the window keeps the rate that opened it."""
    options: Dict[str, Any] = {
        "window_size": 10,
        "minimum_calls": 10,
        "failure_rate_threshold": 0.5,
    }
    a = store(redis, prefix, sync_interval=3600.0).circuit_breaker("db", **options)
    b = store(redis, prefix, sync_interval=3600.0).circuit_breaker("db", **options)
    assert a.has_window
    for cb in (a, b):
        for _ in range(2):
            cb.call(lambda: None)
        fail(cb, 3)
        # Five calls alone are below minimum_calls: only the fleet's ten trip it.
        assert cb.sync().state == ("closed" if cb is a else "open")
    totals = a.sync().window
    assert (totals.calls, totals.failed) == (10, 6)
    assert a.state == "open"
    assert a.window_totals().failure_rate == 0.6


def test_a_corrupt_state_raises_names_its_fields_and_is_repaired(
    redis: RedisServer, prefix: str
) -> None:
    cb = store(redis, prefix, sync_interval=3600.0).circuit_breaker("db", failure_threshold=5)
    cb.sync()
    redis.command("HSET", "{" + prefix + ":breaker:db}", "failures", "nan")
    with pytest.raises(seawall.SharedStateCorruptError) as raised:
        cb.sync()
    assert raised.value.fields == ("failures",)
    assert isinstance(raised.value, seawall.SeawallError)
    assert cb.corrupt_reads == 1
    assert cb.sync().consecutive_failures == 0
    fail(cb, 5)
    assert cb.sync().state == "open"


def test_shared_policies_in_the_registry(redis: RedisServer, prefix: str) -> None:
    from seawall.registry import Registry

    here = store(redis, prefix).circuit_breaker("db", failure_threshold=1)
    elsewhere = store(redis, prefix).circuit_breaker("db", failure_threshold=1)
    limiter = store(redis, prefix).rate_limiter("api", 1, period=3600.0, burst=1)
    registry = Registry()
    registry.register(here, critical=True)
    registry.register(limiter)
    assert registry.names("circuit_breaker") == ["db"]
    assert registry.names("rate_limiter") == ["api"]
    here.sync()
    line = registry.health()["breakers"][0]
    assert line["shared"] is True and "fallback" not in line
    fail(elsewhere)
    elsewhere.sync()
    eventually("open here too", lambda: here.state == "open")
    assert registry.health()["status"] == "unhealthy"
    limiter.check()
    limiter.check()
    text = registry.prometheus_text()
    for expected in (
        'seawall_circuitbreaker_state{name="db",shared="true",state="open"} 1.0',
        'seawall_shared_fallback{kind="circuit_breaker",name="db"} 0.0',
        'seawall_shared_fallback{kind="rate_limiter",name="api"} 0.0',
        'seawall_shared_corrupt_reads_total{name="db"} 0.0',
        'seawall_ratelimiter_calls_total{name="api",kind="admitted",shared="true"} 1.0',
        'seawall_ratelimiter_calls_total{name="api",kind="refused",shared="true"} 1.0',
    ):
        assert expected in text.splitlines(), f"{expected} not in\n{text}"
    # Manual control by name reaches the fleet.
    registry.force_open("db")
    eventually("forced open elsewhere", lambda: elsewhere.sync().state == "forced_open")
    registry.reset("db")
    assert elsewhere.sync().state == "closed"


def test_a_store_on_a_three_node_cluster(tmp_path: Any) -> None:
    """Three primaries started here; breakers whose keys land on several
    nodes trip across two stores, as on one server. The prefix is fixed, so
    the key slots (and the nodes holding them) are the same at every run."""
    prefix = "cluster"
    nodes: List[RedisServer] = []
    try:
        for _ in range(3):
            port = free_cluster_port()
            nodes.append(
                RedisServer(
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", f"nodes-{port}.conf",
                    "--dir", str(tmp_path),
                    port=port,
                )
            )
        subprocess.run(
            ["redis-cli", "--cluster", "create"]
            + [f"127.0.0.1:{node.port}" for node in nodes]
            + ["--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for node in nodes:
            eventually("the cluster is ok", lambda: b"cluster_state:ok" in node.command("CLUSTER", "INFO"))
        urls = [node.url for node in nodes]
        a = RedisStore(urls, prefix=prefix, sync_interval=0.02, timeout=2.0)
        b = RedisStore(urls, prefix=prefix, sync_interval=0.02, timeout=2.0)
        for name in ("orders", "payments", "search", "ledger", "mail", "stock"):
            here = a.circuit_breaker(name, failure_threshold=2)
            there = b.circuit_breaker(name, failure_threshold=2)
            fail(here)
            here.sync()
            fail(there)
            there.sync()
            eventually("open on both", lambda: here.state == "open" and there.state == "open")
            assert not here.is_fallback
        holding = [int(node.command("DBSIZE")[1:].strip()) for node in nodes]
        assert sum(1 for keys in holding if keys) >= 2, holding
    finally:
        for node in nodes:
            node.kill()


# --- the document -------------------------------------------------------------


def test_the_shared_state_document_runs(redis: RedisServer) -> None:
    """docs/SHARED_STATE.md's Python blocks, against this test's server."""
    from test_docs import python_blocks, run_and_compare

    blocks = list(python_blocks(["docs/SHARED_STATE.md"]))
    assert blocks, "docs/SHARED_STATE.md has no python block"
    for document, line, code, output in blocks:
        assert "redis://127.0.0.1:6379" in code, f"{document}:{line} names no server"
        run_and_compare(document, line, code.replace("redis://127.0.0.1:6379", redis.url), output)
    # The example forced the breaker open for the fleet: Redis says so.
    shared = RedisStore(redis.url, prefix="checkout").circuit_breaker("database").shared_state()
    assert shared.state == "forced_open", shared
