"""Each bypass of issue 14, as a class: log records, mapping keys, header pairs, named tuples,
auth schemes, cookies, encodings, key blocks, separators, prose, and linear cost."""

from __future__ import annotations

import io
import logging
import time
from collections import namedtuple
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest

from seawall.config.schema import RedactionSettings
from seawall.observability.redaction import RedactingFilter, Redactor, redact
from seawall.observability.redaction.anchors import AnchorIndex, _guard
from seawall.observability.redaction.detectors import DETECTORS

R = Redactor()
PASSWORD = "Hunter2-" + "Zq7Xw2Rt9"
TOKEN = "Zq7Xw2Rt9Lm4" + "Np6Vb8Kc3Hd5"


def _logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(f"seawall.test.{name}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


# -- 1. RedactingFilter redacts the message as it is written ---------------------------------


@pytest.mark.parametrize(
    ("template", "args"),
    [
        ("login failed password=%s", (PASSWORD,)),
        ("Authorization: Bearer %s", (TOKEN,)),
        ("password=%(pw)s for %(user)s", ({"pw": PASSWORD, "user": "ann"},)),
        ("retry with %s", (f"api_key={TOKEN}",)),
        ("%s", ({"password": PASSWORD},)),
        ("user %r sent %r", ("ann", f"Cookie: sid={TOKEN}")),
    ],
)
def test_the_filter_redacts_the_formatted_message(template: str, args: tuple[Any, ...]) -> None:
    """Secrets split between template and arguments are redacted; the line is written."""
    logger, stream = _logger("formatted")
    logger.warning(template, *args)
    line = stream.getvalue()
    assert line.strip(), "the line was lost"
    assert PASSWORD not in line, line
    assert TOKEN not in line, line
    assert "[REDACTED:" in line


def test_a_dsn_split_by_the_template_is_redacted() -> None:
    """``"postgresql://%s:%s@db"`` formats to a URL whose userinfo is a secret."""
    logger, stream = _logger("dsn")
    logger.error("cannot reach postgresql://%s:%s@db/shop", "app", PASSWORD)
    assert PASSWORD not in stream.getvalue()


@pytest.mark.parametrize(
    ("template", "args"),
    [
        ("login failed %s %s", (PASSWORD,)),  # too few arguments
        ("login failed %d", (PASSWORD,)),  # wrong type
        ("login failed %(pw)s", (PASSWORD,)),  # a mapping key with a tuple
        ("login failed", (PASSWORD,)),  # arguments without a conversion
    ],
)
def test_arguments_that_do_not_format_keep_the_line_and_never_reach_stderr(
    template: str, args: tuple[Any, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    """The template is written with a marker; logging prints no traceback with the raw args."""
    logger, stream = _logger("unformattable")
    logger.warning(template, *args)
    line = stream.getvalue()
    assert line.startswith(template.split("%", maxsplit=1)[0].strip())
    assert "[REDACTED:unformattable arguments" in line
    captured = capsys.readouterr()
    assert PASSWORD not in line + captured.err + captured.out
    assert "Arguments" not in captured.err


def test_the_template_is_kept_when_it_formats_to_the_same_text() -> None:
    """Records stay groupable by template when no secret straddles template and arguments."""
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "charge %s failed", (TOKEN,), None)
    record.args = ("mail ann@example.com",)
    out = R.record(record)
    assert out.msg == "charge %s failed"
    assert out.getMessage() == "charge mail [REDACTED:email] failed"
    split = logging.LogRecord("app", logging.INFO, __file__, 1, "password=%s", (PASSWORD,), None)
    out = R.record(split)
    assert out.args is None
    assert out.getMessage() == "password=[REDACTED:key_value]"


# -- 2. mapping keys are scanned like values -------------------------------------------------


def test_mapping_keys_are_redacted_as_values() -> None:
    """A key that is itself an e-mail address, a DSN or a token is replaced; its value kept."""
    out = redact({"ann.smith@example.com": 3, "postgres://app:pw-" + "x1@db/shop": 1, "ok": 2})
    assert out == {
        "[REDACTED:email]": 3,
        "postgres://app:[REDACTED:url_userinfo]@db/shop": 1,
        "ok": 2,
    }
    assert redact({"ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8": 1}) == {"[REDACTED:github]": 1}


# -- 3. pairs, named tuples and dataclasses --------------------------------------------------


def test_asgi_header_pairs_are_redacted_by_header_name() -> None:
    """``[(b"authorization", b"..."), ...]`` as in an ASGI scope: sensitive names hide values."""
    scope = {
        "headers": [
            (b"host", b"shop.example.com"),
            (b"authorization", b"NTLM " + TOKEN.encode()),
            (b"x-api-key", TOKEN.encode()),
            (b"cookie", b"theme=dark"),
            [b"proxy-authorization", b"Basic " + TOKEN.encode()],
        ],
        "pairs": [("X-Auth-Token", TOKEN), ("Accept", "text/html")],
    }
    out = redact(scope)
    assert out["headers"][0] == ["host", "shop.example.com"]
    assert out["headers"][3] == ["cookie", "[REDACTED:cookie]"]
    assert out["headers"][1] == ["authorization", "[REDACTED:authorization]"]
    assert out["headers"][2] == ["x-api-key", "[REDACTED:api_key]"]
    assert out["headers"][4] == ["proxy-authorization", "[REDACTED:proxy_authorization]"]
    assert out["pairs"] == [["X-Auth-Token", "[REDACTED:auth_token]"], ["Accept", "text/html"]]
    assert TOKEN not in str(out)


def test_named_tuples_and_dataclasses_are_redacted_by_field_name() -> None:
    """They keep their field names; a sensitive field's value is replaced."""
    Login = namedtuple("Login", "user password")

    class Typed(NamedTuple):
        user: str
        api_key: str

    @dataclass
    class Credentials:
        user: str
        secret: str

    assert redact(Login("ann", PASSWORD)) == {"user": "ann", "password": "[REDACTED:password]"}
    assert redact(Typed("ann", TOKEN)) == {"user": "ann", "api_key": "[REDACTED:api_key]"}
    assert redact({"c": Credentials("ann", PASSWORD)}) == {
        "c": {"user": "ann", "secret": "[REDACTED:secret]"}
    }
    # No sensitive name: a tuple (its random-looking value is high_entropy's, switched off here).
    by_name = Redactor(RedactionSettings(detectors={"high_entropy": False}))
    assert by_name.redact([("ann", PASSWORD)]) == [["ann", PASSWORD]]


# -- 4. auth schemes, cookies, encodings, keys, separators -----------------------------------


@pytest.mark.parametrize(
    "scheme",
    ["Bearer", "Basic", "Token", "Negotiate", "NTLM", "SSWS", "Digest", "ApiKey", "Bot", "DPoP",
     "MAC", "HOBA", "Mutual", "SharedKey", "Splunk", "GenieKey", "bearer", "BEARER"],
)  # fmt: skip
def test_every_auth_scheme_after_an_authorization_header(scheme: str) -> None:
    """After ``Authorization:`` (any case, any separator) the credentials go, whatever the scheme."""
    for line in (
        f"Authorization: {scheme} {TOKEN}",
        f'"authorization": "{scheme} {TOKEN}"',
        f"proxy-authorization={scheme} {TOKEN}",
        f"WWW-Authenticate: {scheme} realm=x, nonce={TOKEN}",
    ):
        out = R.text(line)
        assert TOKEN not in out, out


@pytest.mark.parametrize(
    "text",
    [
        f"sent Negotiate {TOKEN} to the proxy",
        f"NTLM {TOKEN}",
        f"ssws {TOKEN}",
        f'Digest username="ann", realm="api", nonce="x1", response="{TOKEN}"',
        f"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={TOKEN}",
        f"token {TOKEN}",
        f"Bearer {TOKEN}",
    ],
)
def test_auth_scheme_credentials_in_text(text: str) -> None:
    """A known scheme followed by credentials hides them, in prose too."""
    out = R.text(text)
    assert TOKEN not in out, out
    assert "[REDACTED:auth_header]" in out


@pytest.mark.parametrize(
    "text",
    [
        "Token validation failed",
        "Token Validation Failed for user ann",
        "basic authentication is disabled",
        "Digest verification failed",
        "Bearer token expired, refreshing",
        "Negotiate authentication required",
        "the token has been revoked",
        "NTLM handshake started",
    ],
)
def test_prose_about_auth_is_kept(text: str) -> None:
    """Scheme words in a sentence are not credentials."""
    assert R.text(text) == text


@pytest.mark.parametrize(
    "line",
    [
        f"Cookie: theme=dark; PHPSESSID={TOKEN}",
        f"Cookie: theme=dark; lang=en; JSESSIONID={TOKEN}; tz=UTC",
        f"cookie: a=1; b=2; sessionid={TOKEN}",
        f"Set-Cookie: laravel_session={TOKEN}; Path=/; HttpOnly",
        f"Set-Cookie: id={TOKEN}; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Secure",
        f'"Cookie": "ASPSESSIONIDQQGGQGPP={TOKEN}; theme=dark"',
        f"Cookie: __Host-next-auth.session-token={TOKEN}",
    ],
)
def test_every_sensitive_cookie_in_a_cookie_line(line: str) -> None:
    """Each cookie with a sensitive name, or with a session-id-shaped value, is hidden; the
    harmless ones stay readable."""
    out = R.text(line)
    assert TOKEN not in out, out
    if "theme=dark" in line:
        assert "theme=dark" in out


@pytest.mark.parametrize(
    "text",
    [
        f"POST /login user%5Bpassword%5D={PASSWORD}&user%5Bname%5D=ann",
        f"GET /cb?next=%2Fcb%3Fpassword%3D{PASSWORD}%26x%3D1",
        f"GET /cb?access%5Ftoken={TOKEN}",
        f"GET /cb?next=%252Fcb%253Fpassword%253D{PASSWORD}",  # encoded twice
        f"GET /cb?%70assword={PASSWORD}",
        f"json: password\\u003d{PASSWORD}",
        f"html: ?a=1&amp;password={PASSWORD}",
        f"html: password&#61;{PASSWORD}",
        f"mail to ann%40example.com about {PASSWORD[:3]}",
    ],
)
def test_escaped_keys_and_values_are_decoded_for_detection(text: str) -> None:
    """Percent-encoding, JSON and HTML escapes do not hide a key or a value."""
    out = R.text(text)
    assert PASSWORD not in out, out
    assert TOKEN not in out, out
    assert "ann%40example.com" not in out
    assert "[REDACTED:" in out


@pytest.mark.parametrize(
    "kind",
    ["RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY",
     "OPENSSH PRIVATE KEY", "DSA PRIVATE KEY", "PGP PRIVATE KEY BLOCK"],
)  # fmt: skip
def test_every_armoured_private_key_body(kind: str) -> None:
    """Any ``-----BEGIN ... PRIVATE KEY...-----`` block goes whole, with or without its END."""
    body = "\n".join([TOKEN * 5, "Version: 1", "", TOKEN * 5, "=" + TOKEN[:4]])
    block = f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"
    for text in (f"key:\n{block}\nnext line", f"key {block[: len(block) // 2]}"):
        out = R.text(text)
        assert TOKEN[:8] not in out, out
    assert R.text(f"key:\n{block}\nnext line").endswith("next line")
    ssh2 = f"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\n{TOKEN * 4}\n---- END SSH2 ENCRYPTED PRIVATE KEY ----"
    assert TOKEN[:8] not in R.text(ssh2)


@pytest.mark.parametrize("separator", [" ", ",", "\t", ", ", ":", "|", ";", " / ", '", "', "\n"])
def test_aws_secret_after_its_key_id_with_any_separator(separator: str) -> None:
    """``AKIA... <sep> <40-char secret>`` hides both."""
    secret = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzq7xW2rT9L"
    out = R.text(f"creds AKIA{'QZ7XW2RT9LM4NP6V'}{separator}{secret} end")
    assert secret[:8] not in out, out
    assert "QZ7XW2RT" not in out, out


@pytest.mark.parametrize(
    "text", ["mailto:ann.lee@example.com", "MAILTO:ann.lee@example.com", "<a href='mailto:ann.lee@example.com'>",
             "sip:ann.lee@example.com", "xmpp:ann.lee@example.com"],
)  # fmt: skip
def test_addresses_after_a_uri_scheme(text: str) -> None:
    """``mailto:`` and other address schemes do not hide an e-mail address."""
    assert "ann.lee@example.com" not in R.text(text)


@pytest.mark.parametrize(
    "line",
    [
        f"PASSWORD=>{PASSWORD}",
        f"'password' => '{PASSWORD}',",
        f"password := {PASSWORD}",
        f'SONAR.LOGIN ?= "{TOKEN}"',
        f"password += {PASSWORD}",
        f"--password {PASSWORD}",
        f"--password={PASSWORD}",
        f"pass-phrase={PASSWORD}",
        f"pass_phrase: {PASSWORD}",
        f"passPhrase = '{PASSWORD}'",
        f"PASSPHRASE={PASSWORD}",
        f'"token1": "{TOKEN}"',
        f"token_2={TOKEN}",
        f"positionstack token = '{TOKEN}'",
        f'const HEROKU_KEY = "{TOKEN}";',
        f"using key = {'3f9a0c7e5b2d4186' * 2}",
        f"<secret>{TOKEN}</secret>",
        f"<password>{PASSWORD}</password>",
        f'<add key="StripeApiKey" value="{TOKEN}" />',
        f'<entry key="db.password">{PASSWORD}</entry>',
        f"[db]\npassword = {PASSWORD}\nhost = x",
        f"secret:\n  {TOKEN}\n",
        f"api_token:\n    '{TOKEN}'",
        f"export GITHUB_TOKEN={TOKEN}",
        f'{{\\"password\\": \\"{PASSWORD}\\"}}',
        f"dbpassword={PASSWORD}",
        f'xToken = "{TOKEN}"',
    ],
)
def test_key_value_syntaxes(line: str) -> None:
    """Every assignment form real logs and config dumps use hides the value."""
    out = R.text(line)
    assert PASSWORD not in out, out
    assert TOKEN not in out, out
    assert "[REDACTED:" in out


def test_quoted_values_are_read_as_the_value_pattern_reads_them() -> None:
    """The str.find reading of a quoted value agrees with the value regex on every quote kind,
    on empty, unclosed, multi-line, mixed-quote and over-long values."""
    import random

    from seawall.observability.redaction.pairs import _VALUE, _quoted

    rng = random.Random(14)
    alphabet = ["a", "Z", "9", " ", "\n", '"', "'", "`", "\\", "=", ","]
    texts = [q + "x" * n + q for q in "\"'`" for n in (4095, 4096, 4097)]
    for _ in range(3000):
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))))
    for text in texts:
        for at in range(min(len(text), 3)):
            if text[at] in "\"'`":
                match = _VALUE.match(text, at)
                assert _quoted(text, at) == (match.span() if match else None), repr(text)


def test_markup_attributes_name_a_value_only_as_whole_words() -> None:
    """``key=``, ``name=`` and ``id=`` attributes name the value after them; the same letters
    ending a longer attribute name (``akey=``, ``rename=``, ``uid=``) do not."""
    for line in (
        f'<add name="password" value="{PASSWORD}"/>',
        f"<item id='api_token'>{TOKEN}</item>",
        f'<add\tkey="secret" content="{TOKEN}"/>',
    ):
        out = R.text(line)
        assert PASSWORD not in out, out
        assert TOKEN not in out, out
    for line in (
        '<add akey="password" value="visible-value"/>',
        '<x rename="password" value="visible-value"/>',
        "<item uid='api_token'>visible-value</item>",
    ):
        assert R.text(line) == line


def test_every_assignment_in_a_line_of_both_kinds_is_read() -> None:
    """The ":" and "=" of a line are visited in text order whichever comes first, so each key
    before either is read, however the two kinds interleave."""
    line = f"a=1 api_token: {TOKEN} b:2 password={PASSWORD} url=http://x:8 secret: {TOKEN}2"
    out = R.text(line)
    assert TOKEN not in out, out
    assert PASSWORD not in out, out
    assert out.count("[REDACTED:") == 3, out
    assert "a=1" in out, out
    assert "b:2" in out, out


@pytest.mark.parametrize(
    "text",
    [
        "sort_key=name order=desc",
        "max_tokens=256 temperature=0.2",
        "cache_key=user:42:profile",
        "primary key 42 violates unique constraint",
        "key=value store",
        "login=ann",
        "the key is in the drawer",
        "keyboard_layout=us passenger=3 token_count=12",
        "password reset e-mail sent to the user",
        "--verbose --token-file /etc/app/token",
    ],
)
def test_harmless_pairs_are_kept(text: str) -> None:
    """Keys that name a secret only sometimes keep values that do not look like one."""
    assert R.text(text) == text


# -- 6. every detector is linear ----------------------------------------------------------------


def _near_matches() -> list[str]:
    """For every anchor: glued copies, copies with a token body one short, and separators."""
    texts = ["a://" * 3072, "a://@" * 3000, "x=" * 6000, "password=" * 1500, "Cookie: a=b;" * 1000,
             "%41" * 4000, "-----BEGIN A PRIVATE KEY-----" * 400, "Authorization: Bearer " * 600,
             "Digest a=b, " * 1000, "AKIA" + "A" * 16 + " " * 12000]  # fmt: skip
    for detector in DETECTORS:
        for anchor in detector.anchors:
            if anchor.startswith("#"):
                anchor = "1234567890"
            texts.append(anchor * (12_000 // len(anchor)))
            texts.append((anchor + "Ab1" * 6 + " ") * (12_000 // (len(anchor) + 19)))
    return texts


def test_every_detector_is_linear_on_its_near_matches() -> None:
    """Glued anchors and truncated bodies of every detector (12 KB, padded to 100 KB), and 40
    fields of the quadratic case of old: bounded time (generous bounds; the benchmark
    measures 1 MB strings)."""
    started = time.perf_counter()
    redact({f"f{n}": "a://" * 3072 for n in range(40)})
    assert time.perf_counter() - started < 2.0
    for text in _near_matches():
        started = time.perf_counter()
        R.text(text + " " * (100_000 - len(text)))
        assert time.perf_counter() - started < 1.0, text[:40]


def test_the_anchor_index_finds_every_anchor() -> None:
    """Each detector is selected for a text holding only one of its anchors."""
    index = AnchorIndex(DETECTORS)
    for detector in DETECTORS:
        for anchor in detector.anchors:
            if anchor.startswith("#"):
                continue
            text = f"x {anchor} y"
            assert detector in set(index.detectors_for(text, text.lower())), anchor


def test_anchors_sharing_a_guard_are_both_found() -> None:
    """Two anchors on the same guard character (``npm_`` and ``_live_`` in ``npm_live_``)
    select the detectors of both, though the regex reports one."""
    index = AnchorIndex(DETECTORS)
    pairs = 0
    for detector in DETECTORS:
        for anchor in detector.anchors:
            at = _guard(anchor)
            if anchor.startswith("#") or at < 0:
                continue
            for other_detector in DETECTORS:
                for other in other_detector.anchors:
                    b = _guard(other)
                    if b < 0 or other.startswith("#") or other[b] != anchor[at] or other in anchor:
                        continue
                    before = max(anchor[:at], other[:b], key=len)
                    after = max(anchor[at + 1 :], other[b + 1 :], key=len)
                    text = f"x {before}{anchor[at]}{after} y"
                    if anchor not in text or other not in text:
                        continue
                    pairs += 1
                    found = set(index.detectors_for(text, text.lower()))
                    assert {detector, other_detector} <= found, text
    assert pairs > 0


def test_secret_keys_that_redact_alike_are_all_kept() -> None:
    """Two mapping keys with the same placeholder do not merge: no value is silently lost."""
    from seawall import redact

    out = redact({"ann@example.com": 1, "bob@example.com": 2, "eve@example.com": 3, "n": 4})
    assert list(out.values()) == [1, 2, 3, 4]
    assert "ann@example.com" not in str(out)


@pytest.mark.parametrize("before", ["İ ", "İİİİİİİİ ", "Iİstanbul: ", "ǅ İ "])
@pytest.mark.parametrize(
    "line",
    [
        "Authorization: Bearer abc.def-123",
        "Authorization: Negotiate YIIBhwYGKwYBBQUC",
        "Cookie: theme=dark; PHPSESSID=abc123def",
        "PASSWORD: hunter2secret",
        "mailto:ann.smith@example.com",
    ],
)
def test_letters_that_lower_to_two_do_not_shift_what_is_found(before: str, line: str) -> None:
    # "İ".lower() is two characters: positions found in the lowered text must still fall on
    # the secret in the original.
    assert Redactor().redact(before + line) == before + Redactor().redact(line)
