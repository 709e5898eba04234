"""Redaction: recall on every secret format, precision on benign data, every surface, safety."""

from __future__ import annotations

import copy
import json
import logging
import random
import string
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seawall.config.settings import Settings
from seawall.observability.redaction import RedactingFilter, RedactingProcessor, Redactor, redact
from seawall.observability.redaction.detectors import iban_valid, luhn_valid
from seawall.observability.redaction.keys import KeyMatcher

RNG = random.Random(20261125)
ALNUM = string.ascii_letters + string.digits


def rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def luhn_complete(prefix: str, length: int) -> str:
    body = prefix + rand(string.digits, length - len(prefix) - 1)
    for check in string.digits:
        if luhn_valid(body + check):
            return body + check
    raise AssertionError


def iban(country: str, bban: str) -> str:
    for check in range(100):
        candidate = f"{country}{check:02d}{bban}"
        if iban_valid(candidate):
            return candidate
    raise AssertionError


def jwt() -> str:
    import base64

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': rand(ALNUM, 12)})}.{rand(ALNUM + '-_', 43)}"


# Synthetic secrets of every format, assembled at run time (never real values).
CARD = luhn_complete("4", 16)
SECRETS: dict[str, str] = {
    "aws_key_id": "AKIA" + rand(string.ascii_uppercase + string.digits, 16),
    "google": "AIza" + rand(ALNUM + "_-", 35),
    "github_classic": "ghp_" + rand(ALNUM, 36),
    "github_fine": "github_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59),
    "gitlab": "glpat-" + rand(ALNUM, 20),
    "slack_token": "xoxb-" + rand(string.digits, 12) + "-" + rand(ALNUM, 24),
    "slack_webhook": "https://hooks.slack.com/services/T" + rand(string.ascii_uppercase, 8) + "/B" + rand(string.ascii_uppercase, 8) + "/" + rand(ALNUM, 24),
    "stripe": "sk_" + "live_" + rand(ALNUM, 24),
    "stripe_restricted": "rk_" + "test_" + rand(ALNUM, 24),
    "sendgrid": "SG." + rand(ALNUM, 22) + "." + rand(ALNUM, 43),
    "twilio": "SK" + rand("0123456789abcdef", 32),
    "npm": "npm_" + rand(ALNUM, 36),
    "pypi": "pypi-AgEIcHlwaS5vcmc" + rand(ALNUM, 60),
    "openai": "sk-proj-" + rand(ALNUM, 48),
    "anthropic": "sk-ant-api03-" + rand(ALNUM, 80),
    "huggingface": "hf_" + rand(string.ascii_letters, 34),
    "jwt": jwt(),
    "card_plain": CARD,
    "email": rand(string.ascii_lowercase, 8) + "." + rand(string.ascii_lowercase, 6) + "@example.com",
    "ssn": "078-05-" + rand("123456789", 4),
    "phone": "+44 20 7946 " + rand(string.digits, 4),
    "iban": iban("DE", rand(string.digits, 18)),
}  # fmt: skip

# Secrets that only count as secrets in their context: (text, secret part).
CONTEXTUAL: dict[str, tuple[str, str]] = {
    "aws_secret": ("aws secret: {s}", rand(ALNUM, 30) + "/" + rand(ALNUM, 9)),
    "url_password": ("postgresql://shop:{s}@db.internal:5432/orders", "p!$+~@" + rand(ALNUM, 10)),
    "url_empty_user": ("redis://:{s}@cache:6379/0", rand(ALNUM, 14)),
    "dsn_password": ("Server=db;Database=shop;User Id=app;Password={s};Encrypt=true", rand(ALNUM, 16)),
    "pwd_pair": ("Driver={{x}};Uid=app;Pwd={s};", rand(ALNUM, 16)),
    "key_value": ("api_key={s} retrying", rand(ALNUM, 24)),
    "pair_after_pair": ("login failed: password={s} for ann", "Sup3r-" + rand(ALNUM, 8) + "!"),
    "json_pair": ('{{"password": "{s}", "user": "ann"}}', rand(ALNUM, 14) + " with space"),
    "query": ("GET /callback?state=1&access_token={s}&page=2", rand(ALNUM, 30)),
    "bearer": ("Authorization: Bearer {s}", rand(ALNUM + ".-_", 40)),
    "basic": ("Proxy: Basic {s}", "dXNlcjpwYXNzd29yZA" + rand(ALNUM, 8) + "=="),
    "azure_conn": ("DefaultEndpointsProtocol=https;AccountName=shop;AccountKey={s};EndpointSuffix=core.windows.net", rand(ALNUM + "+/", 86) + "=="),
    "azure_sas": ("https://shop.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig={s}", rand(ALNUM, 40) + "%3D"),
    "card_spaced": ("pay with {s} today", " ".join(CARD[i : i + 4] for i in range(0, 16, 4))),
    "card_dashed": ("pay with {s} today", "-".join(CARD[i : i + 4] for i in range(0, 16, 4))),
    "pem": ("key:\n{s}\nend", "-----BEGIN RSA PRIVATE KEY-----\n" + rand(ALNUM + "+/", 64) + "\n" + rand(ALNUM, 40) + "\n-----END RSA PRIVATE KEY-----"),
}  # fmt: skip


def planted() -> list[tuple[str, str, str]]:
    """(name, text, secret) for every format."""
    items = [
        (name, f"failed for {secret} while syncing", secret) for name, secret in SECRETS.items()
    ]
    items += [(name, text.format(s=secret), secret) for name, (text, secret) in CONTEXTUAL.items()]
    return items


def slices(secret: str) -> list[str]:
    """The whole secret and a distinctive middle slice: partial leaks count as leaks."""
    middle = secret[len(secret) // 3 : len(secret) // 3 + max(6, len(secret) // 3)]
    return [secret, middle]


def assert_no_leak(output: str, secret: str) -> None:
    for part in slices(secret):
        assert part not in output, f"leaked {part!r} in {output!r}"


R = Redactor()


@pytest.mark.parametrize(("name", "text", "secret"), planted(), ids=[p[0] for p in planted()])
def test_every_format_is_redacted_in_free_text(name: str, text: str, secret: str) -> None:
    """Each secret format is found inside ordinary text; no slice of it survives."""
    out = R.text(text)
    assert_no_leak(out, secret)
    assert "[REDACTED:" in out


def test_secrets_are_redacted_in_every_surface() -> None:
    """Nested dicts and lists, exception messages, args, notes, causes and log records: 0 leaks."""
    items = planted()
    nested = {
        "request": {"items": [{"note": text} for _, text, _ in items]},
        "tags": tuple(t for _, t, _ in items),
    }
    out_nested = json.dumps(redact(nested))
    error = RuntimeError(" ".join(t for _, t, _ in items[:10]))
    error.add_note(" ".join(t for _, t, _ in items[10:20]))
    try:
        try:
            raise ValueError(" ".join(t for _, t, _ in items[20:]))
        except ValueError as inner:
            raise error from inner
    except RuntimeError as caught:
        out_exc = redact(caught)
    record = logging.LogRecord(
        "app",
        logging.ERROR,
        __file__,
        1,
        "sync failed %s / %r",
        (items[0][1], {"t": items[1][1]}),
        None,
    )
    out_record = redact(record).getMessage()
    for _, _, secret in items:
        assert_no_leak(out_nested, secret)
        assert_no_leak(out_exc, secret)
    assert_no_leak(out_record, items[0][2])
    assert_no_leak(out_record, items[1][2])


TOKENS = [name for name in SECRETS if name not in ("slack_webhook", "email", "card_plain", "ssn")]


@pytest.mark.parametrize("name", TOKENS)
def test_tokens_glued_to_a_word_are_not_tokens(name: str) -> None:
    """A token format right after a letter, digit or underscore is part of a longer word: its
    format detector keeps it (the random run it makes is ``high_entropy``'s, switched off here)."""
    formats_only = Redactor(
        Settings.from_mapping({"redaction": {"detectors": {"high_entropy": False}}}).redaction
    )
    for before in "x7_":
        assert formats_only.text(before + SECRETS[name]) == before + SECRETS[name]


@pytest.mark.parametrize("name", ["card_plain", "ssn"])
def test_numbers_glued_to_longer_numbers_or_words_are_kept(name: str) -> None:
    """A card or SSN next to a digit, a dash or a letter is part of a longer number or id: kept."""
    for glue in "7-xF":
        assert R.text(glue + SECRETS[name]) == glue + SECRETS[name]
        assert R.text(SECRETS[name] + glue) == SECRETS[name] + glue


def _luhn_complete(digits: str) -> str:
    return next(digits + d for d in "0123456789" if luhn_valid(digits + d))


def test_hex_ids_with_a_card_shaped_digit_run_are_kept() -> None:
    """A generated correlation id can hold a Luhn-valid run of 13 to 19 digits between hex
    letters (about one id in 300): it is an id, and log lines must keep it whole."""
    rng = random.Random(5)
    ids = ["573defb0ac8b4820899468497e57f5a5"]
    for length in range(13, 20):
        for _ in range(20):
            run = _luhn_complete("".join(rng.choice("123456789") for _ in range(length - 1)))
            at = rng.randrange(1, 31 - length)
            head = "".join(rng.choice("0123456789abcdef") for _ in range(at - 1)) + "a"
            tail = "e" + "".join(rng.choice("0123456789abcdef") for _ in range(31 - at - length))
            ids.append(head + run + tail)
            assert R.text(f"card {run} on file") == "card [REDACTED:card] on file"
    for cid in ids:
        assert len(cid) == 32
        assert R.text(cid) == cid
        assert redact({"correlation_id": cid, "event": f"request {cid} done"}) == {
            "correlation_id": cid,
            "event": f"request {cid} done",
        }


def test_upper_case_hex_ids_that_pass_mod_97_are_kept() -> None:
    """A checksum alone passes one token in 97; an IBAN also has its country's exact length, so
    upper-case hex ids (request ids, hashes) that happen to pass mod-97 stay whole."""
    rng = random.Random(7)
    kept = 0
    while kept < 20:
        token = rng.choice(["AD", "BE", "DE", "FA"]) + "".join(
            rng.choice("0123456789ABCDEF") for _ in range(30)
        )
        if (
            not token[2:4].isdigit()
            or int("".join(str(int(c, 36)) for c in token[4:] + token[:4])) % 97 != 1
        ):
            continue
        kept += 1
        assert not iban_valid(token)
        assert R.text(f"request {token} done") == f"request {token} done"
    assert R.text(f"pay to {SECRETS['iban']}") == "pay to [REDACTED:iban]"


def test_every_url_in_a_text_has_its_userinfo_redacted() -> None:
    """Each URL is found on its own, also after a long run of scheme characters."""
    text = "a http://u:pw1secret@h/x then redis://:pw2secret@c:6379 and ftp://u:pw3secret@f"
    out = R.text(text + " " + "x" * 40 + "://user:pw4secret@h/p")
    assert out.count("[REDACTED:url_userinfo]") == 4
    assert "secret" not in out


BENIGN = [
    "123e4567-e89b-12d3-a456-426614174000",
    "4bf92f3577b34da6a3ce929d0e0e4736",
    "3f786850e387550fdab836ed7e6dc881de23001b",
    "2026-11-25T03:43:54.059926Z",
    "order ORD-2024-000123 shipped",
    "version 1.2.3 (build 4567)",
    "https://example.com/docs/page?id=42&sort=asc",
    "http://localhost:8000/items/7",
    "4111 1111 1111 1112",
    "1234567890123",
    "The quick brown fox jumps over the lazy dog.",
    "retry after 30 seconds, attempt 3 of 5",
    "GET /items/42 HTTP/1.1 200",
    "user_id=42 status=ok",
    "max_tokens=256 sort_key=name author=ann",
    "python3.11 -m pip install seawall==0.1.0",
    "10.0.0.1 is private",
    "price: 12.50 EUR",
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_text_comes_through_untouched(text: str) -> None:
    """Identifiers, hashes, timestamps, versions, plain URLs and sentences stay as they are."""
    assert R.text(text) == text


@pytest.mark.parametrize(
    "key",
    [
        "X-Api-Key",
        "x_api_key",
        "apiKey",
        "API-KEY",
        "Authorization",
        "Set-Cookie",
        "csrftoken",
        "client_secret",
        "DATABASE_URL",
        "card[number]",
        "sessionId",
        "Proxy-Authorization",
        "privateKey",
        "refresh_token",
        "otp",
        "cvv",
        "dsn",
        "signature",
    ],
)
def test_sensitive_keys_in_any_spelling(key: str) -> None:
    """Values under sensitive keys are replaced, whatever the key's spelling."""
    out = redact({key: "value-123", "other": "kept"})
    assert out[key].startswith("[REDACTED:")
    assert out["other"] == "kept"


@pytest.mark.parametrize(
    "key",
    [
        "author",
        "sort_key",
        "max_tokens",
        "secretary",
        "keyboard_layout",
        "passenger",
        "token_count",
        "design",
        "spinner",
        "compass",
    ],
)
def test_look_alike_keys_are_kept(key: str) -> None:
    """Keys that only look like sensitive ones keep their values."""
    assert redact({key: "value"}) == {key: "value"}


def test_settings_add_and_exempt_keys() -> None:
    """``keys`` adds names, ``safe_keys`` exempts them."""
    r = Redactor(
        Settings.from_mapping(
            {"redaction": {"keys": ["member-code"], "safe_keys": ["token"]}}
        ).redaction
    )
    assert r.redact({"memberCode": "x", "token": "y"}) == {
        "memberCode": "[REDACTED:member_code]",
        "token": "y",
    }


def test_detectors_can_be_switched_off_and_patterns_added() -> None:
    """A detector set to false is skipped; a custom pattern gets its own label."""
    r = Redactor(
        Settings.from_mapping(
            {
                "redaction": {
                    "detectors": {"email": False, "ip": True},
                    "patterns": {"order": r"ORD-\d{4}-\d{6}"},
                }
            }
        ).redaction
    )
    assert (
        r.text("ann@example.com ORD-2024-000123 10.1.2.3")
        == "ann@example.com [REDACTED:order] [REDACTED:ip]"
    )


def test_card_last4_and_hmac_placeholders() -> None:
    """Cards may keep their last four digits; HMAC tokens correlate equal secrets."""
    last4 = Redactor(Settings.from_mapping({"redaction": {"card_last4": True}}).redaction)
    assert last4.text(CARD) == f"[REDACTED:card:{CARD[-4:]}]"
    keyed = Redactor(
        Settings.from_mapping({"redaction": {"placeholder": "hmac", "hmac_key": "k1"}}).redaction
    )
    other = Redactor(
        Settings.from_mapping({"redaction": {"placeholder": "hmac", "hmac_key": "k2"}}).redaction
    )
    email = SECRETS["email"]
    assert keyed.text(email) == keyed.text(email) != other.text(email)
    assert email not in keyed.text(email)


def test_control_characters_are_escaped_in_keys_and_values() -> None:
    """C0, C1, DEL, line separators and bidi overrides become visible escapes."""
    out = redact({"a\nb": "x\r\ny\x1b[31m\x85\x7f\u2028\u202e"})
    assert out == {"a\\nb": "x\\r\\ny\\x1b[31m\\x85\\x7f\\u2028\\u202e"}


def test_every_non_printable_character_is_escaped_one_for_one() -> None:
    """The fast escape pass agrees with the character-by-character rule on every code point
    of the Basic Multilingual Plane and a sample beyond it, glued between printable text."""
    from seawall.observability.redaction.escape import escape

    def expected(char: str) -> str:
        code = ord(char)
        if char.isprintable():
            return char
        named = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
        if code in named:
            return named[code]
        if code < 0x20 or 0x7F <= code < 0xA0:
            return f"\\x{code:02x}"
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"

    codes = [*range(0x10000), 0x1F600, 0xE0001, 0xF0000, 0x10FFFF]
    for start in range(0, len(codes), 512):
        chars = [chr(code) for code in codes[start : start + 512]]
        text = "a".join(chars)
        assert escape(text) == "a".join(map(expected, chars))
        assert escape(escape(text)) == escape(text)


def test_field_length_is_capped() -> None:
    """A long value is cut to max_field_length with a visible marker."""
    out = R.text("a" * 20_000)
    assert len(out) == 8192
    assert out.endswith("...[truncated]")


def test_shape_is_kept() -> None:
    """str gives str, mapping a mapping with the same keys, list a list, exception a str."""
    assert isinstance(redact("x"), str)
    assert list(redact({"a": 1, "password": 2})) == ["a", "password"]
    assert redact([1, "two", None]) == [1, "two", None]
    assert redact(KeyError("k")) == "KeyError: 'k'"


def test_broken_repr_and_str_give_a_marker() -> None:
    """An object whose __str__/__repr__ raises is replaced, never raising out of redaction."""

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    class BrokenError(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert "unrenderable" in redact(Broken())
    assert "unrenderable" in redact(BrokenError())


class UnprintableError(Exception):
    """An exception whose message cannot be rendered."""

    def __str__(self) -> str:
        raise RuntimeError("no message for you")


def test_unprintable_exception_reads_the_placeholder_problems_and_events_use() -> None:
    """An exception whose __str__ raises reads ``[unrenderable <class>]``, the text problems and
    error events give it too."""
    assert redact(UnprintableError()) == "UnprintableError: [unrenderable UnprintableError]"


def test_cycles_depth_and_size_are_bounded() -> None:
    """Cyclic, 10 000-deep and huge structures finish with markers instead of failing."""
    cyclic: dict[str, Any] = {"a": 1}
    cyclic["self"] = cyclic
    deep: Any = "leaf"
    for _ in range(10_000):
        deep = [deep]
    wide = list(range(5000))
    assert redact(cyclic)["self"] == "[REDACTED:cycle]"
    assert "too_deep" in json.dumps(redact(deep))
    assert redact(wide)[-1] == "[REDACTED:4000 more items]"


@pytest.mark.parametrize("max_depth", [32, 5000])
def test_cycles_are_marked_whatever_the_depth_bound(max_depth: int) -> None:
    """Every way back to an enclosing container is a cycle marker, even with a huge depth bound."""
    r = Redactor(Settings.from_mapping({"redaction": {"max_depth": max_depth}}).redaction)
    cyclic: dict[str, Any] = {"a": 1, "items": []}
    cyclic["self"] = cyclic
    cyclic["items"] += [cyclic, {"up": cyclic}]
    out = r.redact(cyclic)
    assert out == {
        "a": 1,
        "items": ["[REDACTED:cycle]", {"up": "[REDACTED:cycle]"}],
        "self": "[REDACTED:cycle]",
    }


def test_shared_values_are_not_cycles() -> None:
    """A container referenced twice, but not from inside itself, is redacted in both places."""
    shared = {"mail": SECRETS["email"]}
    out = redact({"one": shared, "two": [shared, shared]})
    assert out["one"] == out["two"][0] == out["two"][1] == {"mail": "[REDACTED:email]"}


def test_nesting_within_the_depth_bound_is_kept() -> None:
    """A structure just inside max_depth comes through whole; one level more is cut."""
    r = Redactor(Settings.from_mapping({"redaction": {"max_depth": 4}}).redaction)
    assert r.redact([[[["x"]]]]) == [[[["x"]]]]
    assert r.redact([[[[["x"]]]]]) == [[[["[REDACTED:too_deep]"]]]]


def test_repeated_values_are_redacted_in_every_place() -> None:
    """A long value that repeats across an event is redacted wherever it stands."""
    note = f"card {CARD} on file, long enough to skip the short-string cache: " + "x" * 40
    event = {"items": [{"note": note} for _ in range(5)], "tags": (note, note), "last": note}
    text = json.dumps(redact(event))
    assert text.count("[REDACTED:card]") == 8
    assert_no_leak(text, CARD)


def test_adversarial_text_finishes_in_linear_time() -> None:
    """5 MB strings and regex-hostile input are handled in bounded time (no ReDoS)."""
    hostile = [
        "a" * 5_000_000,
        ("a" * 60 + "@") * 50_000,
        "1 " * 1_000_000,
        "://" + "a:" * 500_000,
        "x=" * 1_000_000,
        "eyJ" + "A" * 1_000_000,
    ]
    for text in hostile:
        started = time.perf_counter()
        out = R.text(text)
        assert len(out) <= 8192
        assert time.perf_counter() - started < 5


def test_log_record_copy_keeps_template_and_original() -> None:
    """A redacted record keeps its template (groupable) and the original is not changed."""
    secret = SECRETS["stripe"]
    record = logging.LogRecord(
        "app", logging.INFO, __file__, 1, "charge failed with %s", (secret,), None
    )
    record.api_key = secret
    out = redact(record)
    assert out.msg == "charge failed with %s"
    assert secret not in out.getMessage()
    assert out.api_key == "[REDACTED:api_key]"
    assert record.args == (secret,)


def test_filter_renders_exc_info_redacted() -> None:
    """The stdlib filter turns exc_info into redacted text so no formatter prints the raw one."""
    secret = SECRETS["github_classic"]
    try:
        raise RuntimeError(f"push with {secret}")
    except RuntimeError:
        import sys

        record = logging.LogRecord("app", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    RedactingFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert record.exc_info is None
    assert "RuntimeError" in formatted
    assert secret not in formatted


def test_processor_redacts_event_dicts() -> None:
    """The structlog processor redacts keys and values of an event."""
    event = {
        "event": f"login {SECRETS['email']}",
        "password": "x",
        "exception": f"Traceback ... {SECRETS['npm']}",
    }
    out = RedactingProcessor()(None, "info", dict(event))
    text = json.dumps(out)
    for secret in (SECRETS["email"], SECRETS["npm"]):
        assert_no_leak(text, secret)
    assert out["password"] == "[REDACTED:password]"


def test_key_matcher_labels_rules() -> None:
    """The label names the rule that matched."""
    assert KeyMatcher().label("X-Api-Key") == "api_key"
    assert KeyMatcher().label("author") is None


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_redaction_never_raises_never_mutates_and_is_idempotent(value: Any) -> None:
    """For any JSON-like value: no exception, input unchanged, redact(redact(x)) == redact(x)."""
    before = copy.deepcopy(value)
    once = redact(value)
    assert value == before
    assert redact(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(), max_size=200))
def test_text_output_is_one_printable_line(text: str) -> None:
    """Whatever the input, the output has no line breaks or control characters."""
    out = R.text(text)
    assert "\n" not in out
    assert "\r" not in out
    assert all(c.isprintable() for c in out)
