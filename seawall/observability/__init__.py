"""Observability: the event bus and its subscribers, logging and redaction."""
