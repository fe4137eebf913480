"""A registry of named policies: a health report for a readiness endpoint and
Prometheus metrics, driven by a manual clock.

Run: python python/examples/monitoring.py
"""

from __future__ import annotations

import json

from seawall import Bulkhead, CircuitBreaker, CircuitOpenError, Retry
from seawall.registry import Registry
from seawall.testing import ManualClock

clock = ManualClock()
registry = Registry()

database = CircuitBreaker("database", failure_threshold=3, timeout=30.0, clock=clock)
registry.register(database, critical=True)
api = Retry(max_attempts=3, strategy="fixed", delay=0.5, clock=clock)
registry.register(api, name="api")
registry.register(Bulkhead(10, name="database"))


def query() -> int:
    raise ConnectionError("connection refused")


for _ in range(5):
    try:
        database.call(query)
    except (ConnectionError, CircuitOpenError):
        pass
clock.advance(12.0)

report = registry.health()
assert report["status"] == "unhealthy"  # a critical breaker is open
print(json.dumps(report, indent=2))

# The same metric names as the Rust crate, without prometheus_client...
text = registry.prometheus_text()
assert 'seawall_circuitbreaker_state{name="database",state="open"} 1.0' in text
print(text)

# ...and through it, when it is installed:
#     import prometheus_client
#     prometheus_client.REGISTRY.register(registry.collector())
#     prometheus_client.start_http_server(9100, addr="127.0.0.1")

registry.reset("database")  # control by name
assert registry.health()["status"] == "healthy"
