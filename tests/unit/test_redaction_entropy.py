"""The high_entropy detector: random-looking tokens without a prefix found bare in free text,
while identifiers, hashes, ids, paths and encoded text stay whole."""

from __future__ import annotations

import base64
import json
import random
import string

import pytest

from seawall.config.settings import Settings
from seawall.observability.redaction import Redactor
from seawall.observability.redaction.entropy import MIN_LENGTH, random_looking, random_spans

R = Redactor()
RNG = random.Random(20261203)
LOWER, UPPER, DIGITS = string.ascii_lowercase, string.ascii_uppercase, string.digits
ALNUM = string.ascii_letters + DIGITS
PLACEHOLDER = "[REDACTED:high_entropy]"


def rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


SHAPES = {
    "lower_digits_32": lambda: rand(LOWER + DIGITS, 32),
    "lower_digits_24": lambda: rand(LOWER + DIGITS, 24),
    "alnum_20": lambda: rand(ALNUM, 20),
    "alnum_40": lambda: rand(ALNUM, 40),
    "alnum_64": lambda: rand(ALNUM, 64),
    "urlsafe_40": lambda: rand(ALNUM + "-_", 40),
    "urlsafe_64": lambda: rand(ALNUM + "-_", 64),
    "base64_40": lambda: rand(ALNUM + "+/", 40),
    "base64_padded_88": lambda: rand(ALNUM + "+/", 86) + "==",
    "upper_digits_32": lambda: rand(UPPER + DIGITS, 32),
    "base32_52": lambda: rand(LOWER + "234567", 52),
    "letters_32": lambda: rand(string.ascii_letters, 32),
}
SENTENCES = (
    "user ann reported that {} stopped working yesterday",
    "Deploy failed: the service rejected {} after 3 retries.",
    "{}",
)


def leaked(output: str, secret: str) -> bool:
    """The secret or any 8-character run of it is still in ``output``."""
    return any(secret[i : i + 8] in output for i in range(len(secret) - 7))


@pytest.mark.parametrize("shape", SHAPES)
def test_random_tokens_of_each_shape_are_redacted_in_sentences(shape: str) -> None:
    """Twenty random tokens of each common unprefixed shape, bare in prose, all redacted."""
    for n in range(20):
        token = SHAPES[shape]()
        out = R.text(SENTENCES[n % len(SENTENCES)].format(token))
        assert PLACEHOLDER in out, (token, out)
        assert not leaked(out, token), (token, out)


def test_a_random_token_in_a_json_value_is_redacted_and_the_json_stays_valid() -> None:
    """Inside a JSON string under a key that names nothing secret, only the value goes."""
    token = rand(ALNUM, 32)
    out = R.text(json.dumps({"note": token, "count": 3}))
    assert json.loads(out) == {"note": PLACEHOLDER, "count": 3}


@pytest.mark.parametrize(
    "template",
    ["({})", '"{}"', "'{}'", "{}.", "{},", "{};", "<{}>", "[{}]", "{}!", "x={}", "a {}\n"],
)
def test_punctuation_around_a_token_is_kept_and_only_the_token_goes(template: str) -> None:
    """Quotes, brackets, stops and an assignment bound the token; they stay in place."""
    token = rand(ALNUM, 32)
    assert R.text(template.format(token)) == template.format(PLACEHOLDER).replace("\n", "\\n")


def test_the_minimum_length_is_the_boundary() -> None:
    """Fifteen random characters are too short to tell from a code; sixteen are a token."""
    token = "Xk9vQ2mTz8LrP4wYbN6sHd3JcF7gA1eR"
    assert MIN_LENGTH == 16
    assert R.text(f"code {token[:15]} sent") == f"code {token[:15]} sent"
    assert R.text(f"code {token[:16]} sent") == f"code {PLACEHOLDER} sent"


def test_a_token_glued_to_a_name_goes_with_the_name() -> None:
    """A run is judged whole: a random key behind a word and ``_`` is one token."""
    assert R.text("saw backup_Xk9vQ2mTz8LrP4wYbN6sHd3JcF7gA1eR here") == f"saw {PLACEHOLDER} here"


def test_only_the_token_inside_a_path_is_redacted() -> None:
    """A URL path is judged segment by segment: the words and numbers around the token stay."""
    token = rand(ALNUM, 32)
    text = f"GET /api/v1/password-reset/{token}/confirm 302"
    assert R.text(text) == f"GET /api/v1/password-reset/{PLACEHOLDER}/confirm 302"


def test_base64_holding_slashes_is_one_token_not_a_path() -> None:
    """A base64 key with ``/`` and ``+`` inside goes whole."""
    token = "l4I2cd//YQl1s6gyl+2ggbWe5MZxxfrr4ufX0DLk"
    assert R.text(f"blob {token} rotated") == f"blob {PLACEHOLDER} rotated"


LOOKALIKES = {
    "camelCase": "handler getUserAccountSettingsV2 raised",
    "PascalCase": "ProcessPaymentRequestHandler took 12 ms",
    "snake_case": "flag enable_invoice_reconciliation_v2 is on",
    "constant": "MAX_CONNECTION_POOL_SIZE reached",
    "abbreviations": "svn_fs_begin_txn2 and PKCS5_PBKDF2_HMAC_SHA1 and GHSA-3r5h-5jcg-gmgg",
    "java frame": "at com.acme.billing.InvoiceServiceImpl.processPaymentRequest(InvoiceServiceImpl.java:142)",
    "go symbol": "github.com/acme/billing/internal/invoice.(*Service).ProcessPaymentRequest",
    "long word": "Internationalization and counterrevolutionaries",
    "md5": "etag 9e107d9d372bb6826bd81d3542a419d6",
    "sha1 commit": "merged 3f786850e387550fdab836ed7e6dc881de23001b",
    "sha256": "sha256 of the upload e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "upper hex": "S3 request 4442587FB7D0A2F9 done",
    "mongodb objectid": "document 507f1f77bcf86cd799439011 saved",
    "uuid": "request 123e4567-e89b-12d3-a456-426614174000 done",
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "xray id": "Root=1-5759e988-bd862e3fe1be46a994272793",
    "docker digest": "pulled registry.example.com/team/api@sha256:"
    + "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
    "pod": "pod checkout-api-7c9f8d6b5x-x2k9p OOMKilled, web-5d8f7b9c4d-lm2zr restarted",
    "s3 key": "wrote s3://acme-logs/2026/12/part-00042-123e4567-e89b-12d3-a456-426614174000.snappy.parquet",
    "stripe ids": "refund re_3MtwBwLkdIwHu7ix28a3tqPa for cus_NffrFeUfNV2Hib on price_1MoBy5LkdIwHu7ixZhnattbh",
    "ulid": "order 01HGW2N7EHJVT6Y8Z4K2M9Q3RS created",
    "sri": 'integrity="sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"',
    "digest header": "Digest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    "url path": "GET https://api.example.com/v2/organizations/acme/projects/billing-service/builds/4711 200",
    "base64 json cursor": "next page cursor "
    + base64.urlsafe_b64encode(b'{"page": 2, "sort": "created_at"}').decode().rstrip("=")
    + " returned",
    "base64 text": "payload "
    + base64.b64encode(b"Hello, this is a test message").decode()
    + " queued",
    "go pseudo-version": "downloading example.com/lib v0.0.0-20231211153847-12269c276173",
    "compact timestamp": "snapshot at 20261203T141522Z and 20261203141522123",
    "sequence": "alphabet abcdefghijklmnopqrstuvwxyz0123456789 and aAbBcCdDeEfFgGhH",
    "placeholder": "set it to XXXXXXXXXXXXXXXXXXXX1234 or aaaa1111bbbb2222",
    "repeated unit": "test value Qz7wQz7wQz7wQz7wQz7w",
    "debian version": "installed 6f710f8-1+deb12u2",
}


@pytest.mark.parametrize("name", LOOKALIKES)
def test_each_lookalike_class_is_kept(name: str) -> None:
    """Names, hashes, ids, digests, paths, encoded text and placeholders come through whole."""
    assert R.text(LOOKALIKES[name]) == LOOKALIKES[name]


def test_hex_and_uuid_secrets_are_left_to_their_key() -> None:
    """Bare, a 32-hex key or a UUID key cannot be told from a hash or a request id: kept. Under
    a sensitive key the key-value reader hides them."""
    hex_key, uuid_key = "6f1ed002ab5595859014ebf0951522d9", "3b2a5c1e-9f4d-4e8a-b7c6-1d2e3f4a5b6c"
    assert R.text(f"algolia {hex_key} ok") == f"algolia {hex_key} ok"
    assert R.text(f"heroku {uuid_key} ok") == f"heroku {uuid_key} ok"
    assert hex_key not in R.text(f"api_key={hex_key}")


def test_base64_of_credentials_is_not_plain_text() -> None:
    """Base64 of ``user:password`` decodes to text, but to a credential: redacted."""
    encoded = base64.b64encode(b"deploy:Winter2026!").decode()
    assert R.text(f"sent {encoded} upstream") == f"sent {PLACEHOLDER} upstream"


def test_a_named_detector_keeps_its_placeholder() -> None:
    """A random run another detector knows keeps that detector's name."""
    stripe = "sk_" + "live_" + rand(ALNUM, 32)
    assert R.text(f"got {stripe} today") == "got [REDACTED:stripe] today"
    assert R.text(f"password={rand(ALNUM, 32)}") == "password=[REDACTED:key_value]"


def test_the_detector_switches_off_by_name() -> None:
    """``redaction.detectors.high_entropy: false`` leaves random tokens alone."""
    token = rand(ALNUM, 32)
    text = f"user ann reported that {token} stopped working"
    settings = Settings.from_mapping({"redaction": {"detectors": {"high_entropy": False}}})
    assert Redactor(settings.redaction).text(text) == text
    assert PLACEHOLDER in R.text(text)


def test_spans_overlapping_another_detectors_are_dropped() -> None:
    """``random_spans`` returns only spans that overlap none of those already found."""
    a, b = rand(ALNUM, 32), rand(ALNUM, 32)
    text = f"{a} and {b}"
    both = random_spans(text, [])
    assert [(s, e) for s, e, _ in both] == [(0, 32), (37, 69)]
    assert random_spans(text, [(40, 45, "other")]) == [both[0]]
    assert random_spans(text, [(0, 32, "other"), (69, 70, "x")]) == [both[1]]
    assert random_spans("no candidate here at all", [(0, 2, "x")]) == []


def test_random_looking_judges_one_token() -> None:
    """The public predicate: random keys yes, names and hashes no."""
    assert random_looking("Xk9vQ2mTz8LrP4wYbN6sHd3JcF7gA1eR")
    assert not random_looking("getUserAccountSettingsV2")
    assert not random_looking("3f786850e387550fdab836ed7e6dc881de23001b")
    assert not random_looking("Xk9vQ2mTz8LrP4w")


def test_a_long_run_is_judged_on_its_head_and_redacted_whole() -> None:
    """A run of several kilobytes costs one window of checks and goes whole."""
    token = rand(ALNUM + "+/", 8000)
    out = Redactor(Settings.from_mapping({"redaction": {"max_field_length": 20000}}).redaction)
    assert out.text(f"blob {token} end") == f"blob {PLACEHOLDER} end"


def test_runs_are_found_alike_in_ascii_and_in_other_text() -> None:
    """ASCII text is walked by byte search, other text by the regex: the same runs either way."""
    from seawall.observability.redaction.entropy import _RUN, _TOKEN_BYTES, _runs

    for _ in range(2000):
        text = "".join(RNG.choice(ALNUM + "_-+/= .,:") for _ in range(RNG.randrange(200)))
        marks = text.encode().translate(_TOKEN_BYTES)
        assert _runs(text, marks) == [match.span() for match in _RUN.finditer(text)], text
    token = rand(ALNUM, 32)
    assert R.text(f"clé {token}== née") == f"clé {PLACEHOLDER} née"
    assert R.text(f"got {token}== ok") == f"got {PLACEHOLDER} ok"
