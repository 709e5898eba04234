"""Shared test set-up. ``async def`` tests run on asyncio (pytest-asyncio, ``asyncio_mode=auto``)."""
