"""Errors: seawall's exceptions, the problem registry, rendering and the error event."""
