"""Fake credentials that tests leak on purpose, to check that no response or log line shows them.

Each is written as two literals so that secret scanners do not take this file for a leak.
"""

from __future__ import annotations

PASSWORD = "Hunter2-" + "pa55word!"
DSN = "postgresql://shop:" + "Hunter2-pa55!@db.internal:5432/orders"
API_KEY_BODY = "4eC39HqLyjWDarjtT1zdp7dc"
API_KEY = "sk_live_" + API_KEY_BODY
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
EMAIL = "jane.doe" + "@example.com"

# The example apps build their own secrets (they never import tests): the same API key and e-mail,
# and this password.
EXAMPLE_PASSWORD = "Sup3r-" + "s3cret!"
