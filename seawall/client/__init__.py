"""Outgoing calls: dependencies guarded by the same engine as routes, and their httpx side."""
