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


HEX = "3f9a0c7e5b2d4186" * 8


def hexfill(n: int) -> str:
    return HEX[:n]


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
    "cookie": "Cookie: theme=dark; PHPSESSID=" + fill(26),
    "high_entropy": "Xk9vQ2mTz8LrP4wYbN6sHd3JcF7gA1eR",
    # provider formats (formats.py)
    "atlassian": "ATATT" + "3xFfGF0" + fill(120),
    "bitbucket": "ATBB" + fill(32),
    "sourcegraph": "sgp_" + hexfill(16) + "_" + hexfill(40),
    "sonarqube": "squ_" + hexfill(40),
    "buildkite": "bkua_" + hexfill(40),
    "docker": "dckr_pat_" + fill(27),
    "circleci": "CCIPAT_" + fill(40),
    "rubygem": "rubygems_" + hexfill(48),
    "nuget": "oy2" + "a3kf9" + "q" * 38,
    "artifactory": "AKCp" + fill(69),
    "clojars": "CLOJARS_" + fill(60),
    "digitalocean": "dop_v1_" + hexfill(64),
    "alibaba": "LTAI" + fill(20),
    "onepassword": "ops_eyJ" + fill(80),
    "heroku": "HRKU-" + fill(60),
    "hashicorp": "hvs." + fill(90),
    "doppler": "dp.pt." + fill(43),
    "pulumi": "pul-" + hexfill(40),
    "cloudflare": "v1.0-" + hexfill(24) + "-" + hexfill(32) * 4 + hexfill(18),
    "fly": "fo1_" + fill(40),
    "supabase": "sbp_" + hexfill(40),
    "tailscale": "tskey-api-" + fill(40),
    "netlify": "nfp_" + fill(40),
    "age": "AGE-SECRET-KEY-1" + "QZ7XW2RT9LM4NP6V" * 3 + "QZ7XW2RT9L",
    "discord": "MTk4NjIyNDgzNDcxOTI1MjQ4" + ".Cl2FMQ." + fill(38),
    "mailgun": "key-" + hexfill(32),
    "mailchimp": hexfill(32) + "-us14",
    "telegram": "123456789:AA" + fill(33),
    "teams": "https://acme.webhook.office.com/webhookb2/" + hexfill(8) + "-1111-2222-3333-" + hexfill(12) + "@" + hexfill(8) + "-4444-5555-6666-" + hexfill(12) + "/IncomingWebhook/" + hexfill(32) + "/" + hexfill(8) + "-7777-8888-9999-" + hexfill(12),
    "sendinblue": "xkeysib-" + hexfill(64) + "-" + fill(16),
    "shopify": "shpat_" + hexfill(32),
    "flutterwave": "FLWSECK-" + hexfill(32) + "-X",
    "square": "sq0atp-" + fill(22),
    "razorpay": "rzp_live_" + fill(14),
    "braintree": "access_token$production$" + fill(16) + "$" + hexfill(32),
    "coinbase": "organizations/" + hexfill(8) + "-1111-2222-3333-" + hexfill(12) + "/apiKeys/" + hexfill(8) + "-4444-5555-6666-" + hexfill(12),
    "shippo": "shippo_live_" + hexfill(40),
    "duffel": "duffel_test_" + fill(43),
    "easypost": "EZAK" + fill(54),
    "perplexity": "pplx-" + fill(48),
    "groq": "gsk_" + fill(52),
    "xai": "xai-" + fill(80),
    "replicate": "r8_" + fill(37),
    "langsmith": "lsv2_pt_" + hexfill(32) + "_" + hexfill(10),
    "pinecone": "pcsk_" + fill(60),
    "nvidia": "nvapi-" + fill(64),
    "databricks": "dapi" + hexfill(32),
    "planetscale": "pscale_tkn_" + fill(43),
    "airtable": "pat" + fill(14) + "." + hexfill(64),
    "mongodb": "mdb_sa_sk_" + fill(40),
    "grafana": "glsa_" + fill(32) + "_" + hexfill(8),
    "newrelic": "NRAK-" + "QZ7XW2RT9LM4NP6VB8KC3HD5FG1",
    "sentry": "sntryu_" + hexfill(64),
    "dynatrace": "dt0c01." + fill(24) + "." + fill(64),
    "linear": "lin_api_" + fill(40),
    "notion": "ntn_" + fill(46),
    "postman": "PMAK-" + hexfill(24) + "-" + hexfill(34),
    "contentful": "CFPAT-" + fill(43),
    "dropbox": "sl.u." + fill(128) * 2,
    "adafruit": "aio_" + fill(28),
    "readme": "rdme_" + fill(70),
    "prefect": "pnu_" + fill(36),
    "typeform": "tfp_" + fill(44),
    "mapbox": "sk.eyJ" + fill(80),
    "infracost": "ico-" + fill(32),
    "octopus": "API-" + "QZ7XW2RT9LM4NP6VB8KC3HD5FG1",
    "yandex": "y0_" + fill(60),
    "plaid": "access-sandbox-" + hexfill(8) + "-1111-2222-3333-" + hexfill(12),
    "snyk": "snyk_" + fill(40),
}  # fmt: skip

# Samples another detector catches too, by design: it is switched off in both runs.
OVERLAPS: dict[str, tuple[str, ...]] = {
    "anthropic": ("openai",),  # every sk-ant- key also has the shape of an sk- key
    "azure": ("key_value",),  # AccountKey=... is a sensitive key=value pair
    "cookie": ("key_value",),  # PHPSESSID=... is a sensitive key=value pair too
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
    if name != "high_entropy":  # it catches every random-looking sample too
        others["high_entropy"] = False
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
