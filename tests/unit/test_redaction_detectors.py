"""Detector names: one catalogue, and each detector can be switched off by its name alone."""

from __future__ import annotations

import base64
import json

import pytest

from seawall.config.settings import Settings, SettingsError
from seawall.observability.redaction import Redactor
from seawall.observability.redaction.detectors import NAMES, iban_valid, luhn_valid

FILLER = "Zq7Xw2Rt9Lm4Np6Vb8Kc3Hd5Fg1Js0Ty" * 4


def fill(n: int) -> str:
    return FILLER[:n]


def luhn_number(body: str) -> str:
    return next(body + c for c in "0123456789" if luhn_valid(body + c))


def iban(country: str, bban: str) -> str:
    return next(c for n in range(100) if iban_valid(c := f"{country}{n:02d}{bban}"))


def jwt() -> str:
    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': 'user-42'})}.{fill(43)}"


# One synthetic sample per detector name, assembled at run time (never a real value).
SAMPLES: dict[str, str] = {
    "pem": "-----BEGIN " + "EC PRIVATE KEY----- " + fill(64) + " -----END EC PRIVATE KEY-----",
    "aws": "AKIA" + "QZ7XW2RT9LM4NP6V",
    "google": "AIza" + fill(35),
    "azure": "AccountKey=" + fill(40),
    "github": "ghp_" + fill(36),
    "gitlab": "glpat-" + fill(20),
    "slack": "xoxb-" + "1234567890-" + fill(24),
    "stripe": "sk_" + "live_" + fill(24),
    "sendgrid": "SG." + fill(22) + "." + fill(43),
    "twilio": "SK" + "a3f9c07e5b2d41869e0f7c3a5b1d2e48",
    "npm": "npm_" + fill(36),
    "pypi": "pypi-" + "AgE" + fill(48),
    "anthropic": "sk-ant-" + "api03-" + fill(40),
    "openai": "sk-" + "proj-" + fill(40),
    "huggingface": "hf_" + "ZqXwRtLmNpVbKcHdFgJsTyQwErUiOpAsDf",
    "jwt": jwt(),
    "auth_header": "Bearer " + fill(32),
    "email": "ann.lee@example.com",
    "card": luhn_number("411111111111111"),
    "iban": iban("DE", "370400440532013000"),
    "ssn": "078-05-1120",
    "phone": "+44 20 7946 0958",
    "ip": "203.0.113.42",
    "url_userinfo": "postgresql://shop:" + fill(12) + "@db.internal/orders",
    "key_value": "password=" + fill(14),
    "dsn_password": "Server=db;Password=" + fill(14),
    "query_param": "/callback?state=1&access_token=" + fill(30),
}  # fmt: skip

# Samples another detector catches too, by design: it is switched off in both runs.
OVERLAPS: dict[str, tuple[str, ...]] = {
    "anthropic": ("openai",),  # every sk-ant- key also has the shape of an sk- key
    "azure": ("key_value",),  # AccountKey=... is a sensitive key=value pair
}


def redactor(switches: dict[str, bool]) -> Redactor:
    return Redactor(Settings.from_mapping({"redaction": {"detectors": switches}}).redaction)


def test_every_detector_name_has_a_sample() -> None:
    """The sample table covers the catalogue exactly: a new detector needs a sample here."""
    assert sorted(SAMPLES) == sorted(NAMES)
    assert len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_each_detector_switches_off_by_name(name: str) -> None:
    """On, a detector redacts its sample under its own label; off, the text is left as is."""
    text = f"failed for {SAMPLES[name]} while syncing"
    others = dict.fromkeys(OVERLAPS.get(name, ()), False)
    on = redactor({**others, name: True}).text(text)
    assert f"[REDACTED:{name}]" in on
    assert SAMPLES[name] not in on
    assert redactor({**others, name: False}).text(text) == text


def test_an_unknown_detector_name_is_a_settings_error_naming_it() -> None:
    """A detector name the catalogue does not know fails at start-up, naming the key."""
    with pytest.raises(SettingsError) as info:
        Settings.from_mapping({"redaction": {"detectors": {"aws": False, "vault": False}}})
    assert info.value.path == "redaction.detectors.vault"
    assert "unknown key 'vault'" in str(info.value)
