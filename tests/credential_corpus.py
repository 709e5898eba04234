"""A synthetic corpus of credentials in published provider formats, and of their lookalikes.

Every value is generated from a seeded RNG, in the shape the provider documents (prefix,
alphabet, length, fixed markers, checksum where there is one): none is a real credential.
The corpus places each secret three ways: (a) bare in an English sentence, (b) in the lines
config files, code and scanner samples hold, (c) as a dict value under ``token``. Lookalikes
are values in non-secret contexts that a redactor must leave alone.

Used by ``tests/unit/test_redaction_formats.py`` and ``benchmarks/bench_redaction.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "FORMATS",
    "Format",
    "Sample",
    "bare",
    "contextual",
    "lookalikes",
    "reader_near_matches",
    "secrets",
    "under_key",
]

UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
DIGITS = string.digits
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


@dataclass(frozen=True)
class Format:
    """One credential format: ``prefixed`` says whether its text alone identifies it (a literal
    prefix or marker), so that it can be expected bare in prose."""

    name: str
    provider: str
    make: Callable[[random.Random], str]
    prefixed: bool = True


def _jwt(rng: random.Random) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    head = part({"alg": "RS256", "typ": "JWT"})
    return f"{head}.{part({'sub': _r(rng, ALNUM, 12), 'iat': 1700000000})}.{_r(rng, URLSAFE, 43)}"


def _discord(rng: random.Random) -> str:
    snowflake = str(rng.randrange(10**17, 10**19))
    head = base64.b64encode(snowflake.encode()).decode().rstrip("=")
    return f"{head}.{_r(rng, URLSAFE, 6)}.{_r(rng, URLSAFE, 38)}"


def _ops(rng: random.Random) -> str:
    body = json.dumps({"signInAddress": "my.1password.com", "userAuth": {"method": "SRPg-4096"},
                       "email": f"{_r(rng, LOWER, 10)}@1passwordserviceaccounts.com",
                       "srpX": _r(rng, HEX, 64)})  # fmt: skip
    return "ops_" + base64.b64encode(body.encode()).decode().rstrip("=")


def _azure_client_secret(rng: random.Random) -> str:
    return _r(rng, ALNUM + "_-.", 3) + rng.choice(DIGITS) + "Q~" + _r(rng, ALNUM + "_~.-", 34)


def _pem(kind: str) -> Callable[[random.Random], str]:
    def make(rng: random.Random) -> str:
        lines = "\n".join(_r(rng, B64, 64) for _ in range(4))
        return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----"

    return make


def _pgp(rng: random.Random) -> str:
    lines = "\n".join(_r(rng, B64, 64) for _ in range(4))
    return f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{lines}\n={_r(rng, B64, 4)}\n-----END PGP PRIVATE KEY BLOCK-----"


def _sgp(rng: random.Random) -> str:
    return "sgp_" + _r(rng, HEX, 16) + "_" + _r(rng, HEX, 40)


def _f(
    name: str, provider: str, make: Callable[[random.Random], str], prefixed: bool = True
) -> Format:
    return Format(name, provider, make, prefixed)


def _p(name: str, provider: str, prefix: str, alphabet: str, n: int, suffix: str = "") -> Format:
    return Format(name, provider, lambda rng: prefix + _r(rng, alphabet, n) + suffix)


def _np(name: str, provider: str, prefix: str, alphabet: str, n: int) -> Format:
    return Format(name, provider, lambda rng: prefix + _r(rng, alphabet, n), prefixed=False)


FORMATS: tuple[Format, ...] = (
    # VCS, CI and package registries
    _p("github_classic", "github", "ghp_", ALNUM, 36),
    _p("github_oauth", "github", "gho_", ALNUM, 36),
    _p("github_app", "github", "ghs_", ALNUM, 36),
    _f("github_fine", "github", lambda r: "github_pat_" + _r(r, ALNUM, 22) + "_" + _r(r, ALNUM, 59)),
    _p("gitlab_pat", "gitlab", "glpat-", URLSAFE, 20),
    _p("gitlab_feed", "gitlab", "glft-", URLSAFE, 20),
    _p("gitlab_deploy", "gitlab", "gldt-", URLSAFE, 20),
    _p("gitlab_runner", "gitlab", "glrt-", URLSAFE, 20),
    _p("gitlab_runner_registration", "gitlab", "GR1348941", URLSAFE, 20),
    _f("atlassian", "atlassian", lambda r: "ATATT3xFfGF0" + _r(r, URLSAFE, 170) + "=" + _r(r, HEX.upper(), 8)),
    _p("bitbucket_app_password", "bitbucket", "ATBB", ALNUM, 32),
    _f("sourcegraph", "sourcegraph", _sgp),
    _p("sonarqube", "sonar", "squ_", HEX, 40),
    _p("npm", "npm", "npm_", ALNUM, 36),
    _f("pypi", "pypi", lambda r: "pypi-AgEIcHlwaS5vcmc" + _r(r, URLSAFE, 70)),
    _p("rubygems", "rubygems", "rubygems_", HEX, 48),
    _p("nuget", "nuget", "oy2", LOWER + DIGITS, 43),
    _p("artifactory_api_key", "artifactory", "AKCp", ALNUM, 69),
    _p("artifactory_reference", "artifactory", "cmVmdGtu", ALNUM, 56),
    _p("docker_hub", "docker", "dckr_pat_", URLSAFE, 27),
    _p("clojars", "clojars", "CLOJARS_", HEX, 60),
    # cloud
    _p("aws_key_id", "aws", "AKIA", UPPER + DIGITS, 16),
    _p("aws_session_key_id", "aws", "ASIA", UPPER + DIGITS, 16),
    _f("aws_secret_pair", "aws", lambda r: "AKIA" + _r(r, UPPER + DIGITS, 16) + " " + _r(r, ALNUM, 20) + "/" + _r(r, ALNUM, 19)),
    _p("aws_bedrock", "bedrock", "ABSK", ALNUM, 120),
    _p("gcp_api_key", "google", "AIza", URLSAFE, 35),
    _p("gcp_oauth_secret", "google", "GOCSPX-", URLSAFE, 28),
    _p("gcp_access_token", "google", "ya29.", URLSAFE, 120),
    _p("digitalocean_pat", "digitalocean", "dop_v1_", HEX, 64),
    _p("digitalocean_oauth", "digitalocean", "doo_v1_", HEX, 64),
    _p("alibaba", "alibaba", "LTAI", ALNUM, 20),
    _f("azure_ad_client_secret", "azure", _azure_client_secret),
    _f("onepassword_service", "onepassword", _ops),
    _f("onepassword_secret_key", "onepassword", lambda r: "A3-" + "-".join(_r(r, UPPER + DIGITS, n) for n in (6, 6, 5, 5, 5, 5))),
    _p("heroku", "heroku", "HRKU-", URLSAFE, 60),
    _p("vault", "vault", "hvs.", URLSAFE, 90),
    _f("terraform", "terraform", lambda r: _r(r, LOWER + DIGITS, 14) + ".atlasv1." + _r(r, URLSAFE, 67)),
    _p("doppler", "doppler", "dp.pt.", ALNUM, 43),
    _p("pulumi", "pulumi", "pul-", HEX, 40),
    _p("supabase", "supabase", "sbp_", HEX, 40),
    _p("tailscale", "tailscale", "tskey-api-", ALNUM, 40),
    _p("netlify", "netlify", "nfp_", ALNUM, 36),
    _p("age", "age", "AGE-SECRET-KEY-1", UPPER + DIGITS, 58),
    # chat and mail
    _f("slack_bot", "slack", lambda r: "xoxb-" + _r(r, DIGITS, 12) + "-" + _r(r, DIGITS, 13) + "-" + _r(r, ALNUM, 24)),
    _f("slack_app", "slack", lambda r: "xapp-1-A" + _r(r, UPPER + DIGITS, 10) + "-" + _r(r, DIGITS, 13) + "-" + _r(r, HEX, 64)),
    _f("slack_webhook", "slack", lambda r: "https://hooks.slack.com/services/T" + _r(r, UPPER + DIGITS, 10) + "/B" + _r(r, UPPER + DIGITS, 10) + "/" + _r(r, ALNUM, 24)),
    _f("discord_bot", "discord", _discord),
    _f("discord_webhook", "discord", lambda r: f"https://discord.com/api/webhooks/{r.randrange(10**17, 10**19)}/{_r(r, URLSAFE, 68)}"),
    _p("mailgun", "mailgun", "key-", HEX, 32),
    _f("mailchimp", "mailchimp", lambda r: _r(r, HEX, 32) + "-us" + str(r.randrange(1, 21))),
    _f("teams_webhook", "teams", lambda r: f"https://acme.webhook.office.com/webhookb2/{uuid.UUID(int=r.getrandbits(128))}@{uuid.UUID(int=r.getrandbits(128))}/IncomingWebhook/{_r(r, HEX, 32)}/{uuid.UUID(int=r.getrandbits(128))}"),
    _f("telegram_bot", "telegram", lambda r: str(r.randrange(10**8, 10**10)) + ":AA" + _r(r, URLSAFE, 33)),
    _f("sendgrid", "sendgrid", lambda r: "SG." + _r(r, URLSAFE, 22) + "." + _r(r, URLSAFE, 43)),
    _p("sendinblue", "brevo", "xkeysib-", HEX, 64, "-" + "Zq7Xw2Rt9Lm4Np6V"),
    _f("twilio_api_key", "twilio", lambda r: "SK" + _r(r, HEX, 32)),
    # payments
    _p("stripe_secret", "stripe", "sk_live_", ALNUM, 99),
    _p("stripe_restricted", "stripe", "rk_live_", ALNUM, 99),
    _p("stripe_webhook", "stripe", "whsec_", ALNUM, 32),
    _p("shopify_access", "shopify", "shpat_", HEX, 32),
    _p("shopify_shared", "shopify", "shpss_", HEX, 32),
    _p("flutterwave", "flutterwave", "FLWSECK-", HEX, 32, "-X"),
    _p("flutterwave_test", "flutterwave", "FLWSECK_TEST-", HEX, 12),
    _p("square", "square", "sq0atp-", URLSAFE, 22),
    _p("razorpay", "razorpay", "rzp_live_", ALNUM, 14),
    _f("coinbase_key_name", "coinbase", lambda r: f"organizations/{uuid.UUID(int=r.getrandbits(128))}/apiKeys/{uuid.UUID(int=r.getrandbits(128))}"),
    _f("coinbase_private_key", "coinbase", _pem("EC PRIVATE KEY")),
    _p("shippo", "shippo", "shippo_live_", HEX, 40),
    # AI
    _f("openai", "openai", lambda r: "sk-proj-" + _r(r, URLSAFE, 156)),
    _f("openai_legacy", "openai", lambda r: "sk-" + _r(r, ALNUM, 20) + "T3BlbkFJ" + _r(r, ALNUM, 20)),
    _f("anthropic", "anthropic", lambda r: "sk-ant-api03-" + _r(r, URLSAFE, 93) + "AA"),
    _p("perplexity", "perplexity", "pplx-", ALNUM, 48),
    _p("huggingface", "huggingface", "hf_", string.ascii_letters, 34),
    _p("huggingface_org", "huggingface", "api_org_", string.ascii_letters, 34),
    _p("groq", "groq", "gsk_", ALNUM, 52),
    _p("xai", "xai", "xai-", ALNUM, 80),
    _p("replicate", "replicate", "r8_", ALNUM, 37),
    _f("langsmith", "langsmith", lambda r: "lsv2_pt_" + _r(r, HEX, 32) + "_" + _r(r, HEX, 10)),
    _p("nvidia", "nvidia", "nvapi-", URLSAFE, 64),
    # databases, data and SaaS
    _p("databricks", "databricks", "dapi", HEX, 32),
    _p("planetscale", "planetscale", "pscale_tkn_", URLSAFE, 43),
    _f("airtable", "airtable", lambda r: "pat" + _r(r, ALNUM, 14) + "." + _r(r, HEX, 64)),
    _p("grafana_service", "grafana", "glsa_", ALNUM, 32, "_" + "0a1b2c3d"),
    _p("newrelic", "newrelic", "NRAK-", UPPER + DIGITS, 27),
    _f("dynatrace", "dynatrace", lambda r: "dt0c01." + _r(r, UPPER + DIGITS, 24) + "." + _r(r, UPPER + DIGITS, 64)),
    _p("linear", "linear", "lin_api_", ALNUM, 40),
    _p("notion", "notion", "ntn_", ALNUM, 46),
    _f("postman", "postman", lambda r: "PMAK-" + _r(r, HEX, 24) + "-" + _r(r, HEX, 34)),
    _p("contentful", "contentful", "CFPAT-", URLSAFE, 43),
    _p("sentry_user", "sentry", "sntryu_", HEX, 64),
    _p("readme", "readme", "rdme_", ALNUM, 70),
    _f("jwt", "auth0", _jwt),
    _f("pem_rsa", "ssh", _pem("RSA PRIVATE KEY")),
    _f("pem_openssh", "ssh", _pem("OPENSSH PRIVATE KEY")),
    _f("pgp_private", "gpg", _pgp),
    # no prefix: their text alone does not say what they are
    # random bodies of the common unprefixed shapes, found bare only by their randomness
    _np("asana_client_secret", "asana", "", LOWER + DIGITS, 32),
    _np("twitch_api_token", "twitch", "", LOWER + DIGITS, 30),
    _np("mattermost_token", "mattermost", "", LOWER + DIGITS, 26),
    _np("etsy_access_token", "etsy", "", LOWER + DIGITS, 24),
    _np("freshbooks_token", "freshbooks", "", LOWER + DIGITS, 64),
    _np("travisci_token", "travisci", "", ALNUM, 22),
    _np("sumologic_access_key", "sumologic", "", ALNUM, 64),
    _np("zendesk_secret", "zendesk", "", ALNUM, 40),
    _np("launchdarkly_token", "launchdarkly", "", URLSAFE, 40),
    _np("fastly_api_token", "fastly", "", URLSAFE, 32),
    _np("gitter_token", "gitter", "", LOWER + DIGITS + "_-", 40),
    _np("aws_secret_key", "aws", "", B64, 40),
    _f("azure_storage_key", "azure", lambda r: _r(r, B64, 86) + "==", prefixed=False),
    _np("kraken_private_key", "kraken", "", B64, 88),
    _np("totp_seed", "totp", "", UPPER + "234567", 32),
    _np("dropbox_app_secret", "dropbox", "", LOWER + DIGITS, 15),
    _np("cohere", "cohere", "", ALNUM, 40),
    _np("sendbird", "sendbird", "", HEX, 40),
    _np("twilio_auth_token", "twilio", "", HEX, 32),
    _np("datadog_app_key", "datadog", "", HEX, 40),
    _np("algolia", "algolia", "", HEX, 32),
    _np("cloudflare_api_token", "cloudflare", "", URLSAFE, 40),
    _np("azure_devops_pat", "azuredevops", "", LOWER + "234567", 52),
    _f("heroku_legacy", "heroku", lambda r: str(uuid.UUID(int=r.getrandbits(128))), prefixed=False),
    _np("okta", "okta", "00", URLSAFE, 40),
    _np("mistral", "mistral", "", ALNUM, 32),
    _f("coinbase_legacy", "coinbase", lambda r: _r(r, ALNUM, 16), prefixed=False),
)  # fmt: skip
"""Every format in the corpus."""


def secrets(per_format: int = 3, seed: int = 14) -> list[tuple[Format, str]]:
    """``per_format`` synthetic secrets of every format, the same for the same seed."""
    rng = random.Random(seed)
    return [(fmt, fmt.make(rng)) for fmt in FORMATS for _ in range(per_format)]


@dataclass(frozen=True)
class Sample:
    """A text holding ``secret`` (empty for a lookalike) made for ``format`` in ``placement``."""

    format: str
    placement: str
    text: str
    secret: str


_SENTENCES = (
    "Deploy failed: the service rejected {s} after 3 retries.",
    "While syncing the mirror we sent {s} and got 401 back",
    "user ann reported that {s} stopped working yesterday",
)


def bare(items: list[tuple[Format, str]]) -> list[Sample]:
    """(a) Each secret bare inside an English sentence."""
    return [
        Sample(fmt.name, "bare", _SENTENCES[n % len(_SENTENCES)].format(s=secret), secret)
        for n, (fmt, secret) in enumerate(items)
    ]


def _names(provider: str) -> dict[str, str]:
    camel = provider[:1].upper() + provider[1:]
    return {"p": provider, "P": provider.upper(), "C": camel}


_LINES = (
    '{p}Token = "{s}"',
    "{p} token = '{s}'",
    "{p}:\n  api_key: {s}\n  region: eu-west-1",
    '{{"{p}_secret": "{s}", "enabled": true}}',
    "<secret>{s}</secret>",
    "<{C}ApiKey>{s}</{C}ApiKey>",
    '[{p}]\ntoken = "{s}"\ntimeout = 30',
    "[{p}]\npassword = {s}",
    "export {P}_API_KEY={s}",
    "{P}_TOKEN={s}",
    'const {P}_KEY = "{s}";',
    '{P}.LOGIN ?= "{s}"',
    "'{p}_password' => '{s}',",
    "PASSWORD=>{s}",
    "{p}-cli login --password {s} --verbose",
    "{p} deploy --token={s}",
    '"token1": "{s}"',
    "using key = {s}",
    "{p}_secret:\n  {s}\n",
    "Authorization: Bearer {s}",
    'curl -H "X-Api-Key: {s}" https://api.example.com/v1',
    '{p}.api_key := "{s}"',
    "set {P}_SECRET={s}",
    '<add key="{C}ApiKey" value="{s}" />',
    "{p}_access_key: '{s}'",
    "spring.datasource.password={s}",
    # keys followed by blanks, calls, commas, defaults, types; CLI flags; YAML and quoting
    "{P}_TOKEN {s}",
    "login to {p} using password {s} failed",
    'client.set{C}ApiKey("{s}")',
    "define('{P}_SECRET', '{s}');",
    'token = os.getenv("{P}_TOKEN", "{s}")',
    "ENV['{P}_SECRET_KEY'] ||= '{s}'",
    'const key = process.env.{P}_API_KEY || "{s}";',
    'var {p}Token string = "{s}"',
    '{p}Token: String = "{s}"',
    "${p}Token .= '{s}';",
    "curl -u admin:{s} https://{p}.example.com/v1",
    "mysql -h db -u {p} -p{s} shop",
    "sshpass -p '{s}' ssh deploy@{p}.example.com",
    '{p}_password = """{s}"""',
    "{p}_token: |\n  {s}\n",
    "{p}_secret: !!str {s}",
    "{P}_PAT={s}",
    '{{"name": "{P}_API_KEY", "value": "{s}"}}',
    "<{C}Token>\n    {s}\n</{C}Token>",
    '"{p} api key": "{s}"',
    "# {s} is the password",
)


def contextual(items: list[tuple[Format, str]]) -> list[Sample]:
    """(b) Each secret in every sample line (config files, code, shell, headers)."""
    out: list[Sample] = []
    for fmt, secret in items:
        names = _names(fmt.provider)
        for line in _LINES:
            out.append(Sample(fmt.name, "line", line.format(s=secret, **names), secret))
    return out


def under_key(items: list[tuple[Format, str]]) -> list[tuple[Format, dict[str, str], str]]:
    """(c) Each secret as a dict value under ``token``."""
    return [(fmt, {"token": secret, "note": "ok"}, secret) for fmt, secret in items]


def _luhn_invalid(rng: random.Random) -> str:
    """Sixteen digits that fail the Luhn check."""
    digits = [int(c) for c in "4" + _r(rng, DIGITS, 15)]
    total = 0
    for n, d in enumerate(reversed(digits)):
        total += (d * 2 - 9 if d > 4 else d * 2) if n % 2 else d
    if total % 10 == 0:
        digits[-1] = (digits[-1] + 1) % 10
    return "".join(map(str, digits))


_WORDS = (
    "user", "account", "settings", "payment", "request", "handler", "invoice", "order", "billing",
    "session", "profile", "customer", "report", "export", "import", "service", "client", "server",
    "config", "manager", "factory", "builder", "event", "message", "queue", "worker", "schedule",
    "checkout", "cart", "inventory", "shipping", "address", "notification", "template", "render",
    "cache", "refresh", "update", "delete", "create", "process", "validate", "parse", "format",
)  # fmt: skip
_K8S = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet of Kubernetes pod-name hashes
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _camel(rng: random.Random) -> str:
    """A camelCase name of three or four words, a version digit sometimes."""
    words = [rng.choice(_WORDS) for _ in range(rng.randrange(3, 5))]
    name = words[0] + "".join(w.capitalize() for w in words[1:])
    return name + (f"V{rng.randrange(2, 9)}" if rng.random() < 0.5 else "")


def _ulid(rng: random.Random) -> str:
    """A ULID of this decade: a 48-bit millisecond time, then 80 random bits, Crockford base32."""
    value = (rng.randrange(1_700_000_000_000, 1_900_000_000_000) << 80) | rng.getrandbits(80)
    return "".join(_CROCKFORD[(value >> (5 * n)) & 31] for n in reversed(range(26)))


def lookalikes(seed: int = 15, count: int = 12) -> list[Sample]:
    """Values in non-secret contexts (ids, hashes, settings, prose) that must stay whole."""
    rng = random.Random(seed)
    makers: list[Callable[[], str]] = [
        lambda: f"request {uuid.UUID(int=rng.getrandbits(128))} done in 12 ms",
        lambda: f"trace_id={_r(rng, HEX, 32)} span_id={_r(rng, HEX, 16)}",
        lambda: f"traceparent: 00-{_r(rng, HEX, 32)}-{_r(rng, HEX, 16)}-01",
        lambda: f"merged commit {_r(rng, HEX, 40)} into main",
        lambda: f"sha256 of the upload: {hashlib.sha256(_r(rng, ALNUM, 8).encode()).hexdigest()}",
        lambda: f'etag: "{hashlib.md5(_r(rng, ALNUM, 8).encode()).hexdigest()}"',
        lambda: f"image web@sha256:{_r(rng, HEX, 64)} pulled",
        lambda: f"max_tokens={rng.randrange(16, 4096)} temperature=0.{rng.randrange(10)}",
        lambda: f"sort_key={rng.choice(['created_at', 'name', 'price', 'updatedAt'])} order=desc",
        lambda: rng.choice(
            [
                "Token validation failed",
                "Basic authentication required",
                "Digest verification failed for upload",
                "Bearer token expired, refreshing",
                "password reset e-mail sent",
                "token_count=1234 prompt_tokens=56",
                "the secret santa list is ready",
                "session length 42 s",
                "Invalid API key format",
                "keyboard_layout=us passenger=3",
            ]
        ),
        lambda: f"pod web-{_r(rng, HEX, 10)}-{_r(rng, LOWER + DIGITS, 5)} restarted",
        # names and ids a log holds that look random at a glance: they stay whole
        lambda: f"handler {_camel(rng)} raised after {rng.randrange(2, 90)} ms",
        lambda: f"class {_camel(rng).capitalize()}Impl loaded",
        lambda: f"flag {'_'.join(rng.choice(_WORDS) for _ in range(4))}_v{rng.randrange(9)} is on",
        lambda: (
            f"at com.acme.{rng.choice(_WORDS)}.{_camel(rng).capitalize()}.{_camel(rng)}({_camel(rng).capitalize()}.java:{rng.randrange(900)})"
        ),
        lambda: (
            f"goroutine in github.com/acme/{rng.choice(_WORDS)}/internal.(*{_camel(rng).capitalize()}).{_camel(rng).capitalize()}"
        ),
        lambda: f"pod checkout-api-{_r(rng, _K8S, 10)}-{_r(rng, _K8S, 5)} OOMKilled",
        lambda: (
            f"pulled registry.example.com/team/api@sha256:{_r(rng, HEX, 64)} as {_r(rng, HEX, 12)}"
        ),
        lambda: (
            f"wrote s3://acme-logs/{rng.randrange(2020, 2030)}/{rng.randrange(1, 13):02d}/part-{rng.randrange(10**5):05d}-{uuid.UUID(int=rng.getrandbits(128))}.snappy.parquet"
        ),
        lambda: (
            f"refund re_{_r(rng, ALNUM, 24)} for charge ch_{_r(rng, ALNUM, 24)} on price_{_r(rng, ALNUM, 24)}"
        ),
        lambda: f"order {_ulid(rng)} created",
        lambda: (
            f'<script src="/static/app.js" integrity="sha384-{base64.b64encode(rng.randbytes(48)).decode()}"></script>'
        ),
        lambda: f"Digest: SHA-256={base64.b64encode(rng.randbytes(32)).decode()}",
        lambda: (
            f"GET https://api.example.com/v2/organizations/{rng.choice(_WORDS)}/projects/{rng.choice(_WORDS)}-service/builds/{rng.randrange(10**4)}/artifacts 200"
        ),
        lambda: (
            f"next page cursor {base64.urlsafe_b64encode(json.dumps({'page': rng.randrange(99), 'sort': rng.choice(_WORDS)}).encode()).decode().rstrip('=')} returned"
        ),
        lambda: (
            f"payload {base64.b64encode(' '.join(rng.choice(_WORDS) for _ in range(6)).encode()).decode()} queued"
        ),
        lambda: (
            f"go: downloading example.com/lib v0.0.0-{rng.randrange(2020, 2030)}1203141522-{_r(rng, HEX, 12)}"
        ),
        lambda: (
            f"image ghcr.io/acme/{rng.choice(_WORDS)}-service:v{rng.randrange(9)}.{rng.randrange(30)}.{rng.randrange(9)}-alpine3.19 started"
        ),
        lambda: f"S3 request {_r(rng, HEX.upper(), 16)} took {rng.randrange(900)} ms",
        lambda: f"snapshot taken at {rng.randrange(2020, 2030)}1203T{rng.randrange(10**5, 10**6)}Z",
        lambda: (
            f"constant MAX_{'_'.join(rng.choice(_WORDS).upper() for _ in range(3))}_SIZE reached"
        ),
        lambda: f"customer cus_{_r(rng, ALNUM, 14)} paid invoice in_{_r(rng, ALNUM, 24)}",
        lambda: f"file /var/lib/app/{_r(rng, LOWER, 8)}/{_r(rng, HEX, 12)}.json not found",
        lambda: (
            f"version {rng.randrange(1, 9)}.{rng.randrange(30)}.{rng.randrange(30)} (build {_r(rng, HEX, 7)})"
        ),
        lambda: f"arn:aws:iam::{_r(rng, DIGITS, 12)}:role/{_r(rng, LOWER, 8)}-deploy",
        lambda: f"order ORD-{rng.randrange(2020, 2030)}-{_r(rng, DIGITS, 6)} shipped",
        lambda: f"cache_key=user:{rng.randrange(1000)}:profile hit",
        lambda: f"primary key {rng.randrange(10**6)} violates unique constraint",
        lambda: f"color #{_r(rng, HEX, 6)} on the {_r(rng, LOWER, 6)} button",
        lambda: f"card ending {_r(rng, DIGITS, 4)} declined",
        lambda: f"run_id={rng.randrange(10**9, 10**10)} attempt=2",
        lambda: f"GET /api/v1/items/{uuid.UUID(int=rng.getrandbits(128))}?page=2 200",
        lambda: f"number {_luhn_invalid(rng)} is not a card",
        lambda: f"channel C{_r(rng, UPPER + DIGITS, 10)} archived",
        lambda: rng.choice(
            [
                'get_token("github")',
                'fields = ("username", "password", "email")',
                "token was revoked by the admin",
                "password for user ann expired",
                "setToken(token)",
                "secret manager unavailable, retrying",
                "XSRF-TOKEN cookie set",
                "bypass mode on, 12 tests passed",
                "sas 12Gb/s drive attached",
                "mysql -u root -p shop",
                'logger.info("token", extra=fields)',
                "PWD=/home/ann OLDPWD=/tmp",
            ]
        ),
        lambda: (
            f"docker run -u {rng.randrange(1000, 2000)}:{rng.randrange(1000, 2000)} -p 8080:80 web"
        ),
        lambda: f"session {rng.randrange(10**7, 10**8)} closed after {rng.randrange(60)} s",
        lambda: (
            f"ssh -p {rng.randrange(1024, 65535)} deploy@10.0.{rng.randrange(255)}.{rng.randrange(255)}"
        ),
    ]
    return [Sample("lookalike", "lookalike", make(), "") for make in makers for _ in range(count)]


_READER_NEAR_UNITS = (
    "token ",
    "PROV_TOKEN ",
    "password is ",
    "a is the password ",
    'setToken("',
    "'api_key', ",
    "x.token || ",
    "var token string ",
    "mysql ",
    "mysql -p",
    "sshpass -p ",
    "-u a:",
    "-u ",
    "token: |\n",
    "token: !!str ",
    'password = """',
    '"name": "password", ',
    "<a>\n",
    "'a b c' = ",
    'token "',
    "token 'Ab1Ab1Ab1",
    "password Ab1" + "x" * 5000 + " ",
    "--user a:",
    "smbclient -U a",
    "lftp -u a",
    "ldapsearch -w ",
    "redis-cli -a ",
    '"value": ',
    "- name: DB_PASSWORD\n",
    "token: |  # c\n",
    "token: !a !b ",
    "token: String = ",
    "password = r",
    'auth=("a", ',
)


def reader_near_matches(size: int) -> list[str]:
    """Inputs of ``size`` characters the key-value readers' patterns are slowest on: stems,
    key words and tool words glued, and forms one piece short (a block header without its
    lines, a triple quote never closed, a flag without its value)."""
    return [(unit * (size // len(unit) + 1))[:size] for unit in _READER_NEAR_UNITS]
