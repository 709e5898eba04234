"""Seawall's ASGI and WSGI middleware."""
