"""Resilience primitives with an injected clock: breaker, windows, bulkhead, timeouts, isolation."""
