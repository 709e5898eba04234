"""Seawall for Django: add ``seawall.integrations.django`` to ``INSTALLED_APPS`` and
``SeawallMiddleware`` first in ``MIDDLEWARE``; configure with ``settings.SEAWALL``.

>>> INSTALLED_APPS = [..., "seawall.integrations.django"]
>>> MIDDLEWARE = ["seawall.integrations.django.SeawallMiddleware", ...]
"""

from __future__ import annotations

from seawall.integrations.django.middleware import SeawallMiddleware

__all__ = ["SeawallMiddleware"]
