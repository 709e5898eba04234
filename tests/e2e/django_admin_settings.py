"""The example Django project with the admin API on (token from ``ADMIN_TOKEN``)."""

from __future__ import annotations

import os

from examples.django_project.settings import *  # noqa: F403
from examples.django_project.settings import SEAWALL as EXAMPLE

SEAWALL = {**EXAMPLE, "admin": {"token": os.environ["ADMIN_TOKEN"]}}
