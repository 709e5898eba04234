"""Provider credential formats: tokens whose prefix, alphabet and length say what they are.

Each entry is built from the provider's published shape (literal prefix, body alphabet and
length, fixed markers). A format is looked for only when one of its literal anchors occurs in
the text (see ``anchors.py``), so the catalogue can grow without slowing text that holds none
of them. Every pattern has bounded repetition only, so matching stays linear.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from seawall.observability.redaction.pattern import Detector

__all__ = ["FORMATS"]

_B = r"(?<![A-Za-z0-9_\-])"  # a token starts here: not glued to a word
_E = r"(?![A-Za-z0-9_\-])"  # and ends here
_A = "A-Za-z0-9"
_HEX = "a-f0-9"


def _discord_valid(token: str) -> bool:
    """The first part of a Discord bot token is the bot's numeric id in base64."""
    head = token.split(".", 1)[0]
    try:
        return base64.b64decode(head + "=" * (-len(head) % 4), validate=False).isdigit()
    except (ValueError, binascii.Error):
        return False


def _mixed(token: str) -> bool:
    """A random body holds digits or both cases; a word or a name in capitals does not."""
    body = token[4:]
    return sum((any(c.isdigit() for c in body), any(c.islower() for c in body),
                any(c.isupper() for c in body))) >= 2  # fmt: skip


def _f(
    name: str,
    prefixes: tuple[str, ...],
    body: str,
    check: Callable[[str], bool] | None = None,
    anchors: tuple[str, ...] | None = None,
) -> Detector:
    alternation = "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
    pattern = re.compile(f"{_B}(?:{alternation}){body}{_E}")
    return Detector(name, pattern, anchors or prefixes, 0, check, at_anchor=anchors is None)


FORMATS: tuple[Detector, ...] = (
    # VCS and CI
    _f("gitlab", ("glpat-", "gldt-", "glrt-", "glcbt-", "glptt-", "glft-", "glsoat-", "glimt-",
                  "glagent-", "gloas-", "glffct-", "glwt-", "GR1348941"), r"[A-Za-z0-9_\-.]{20,128}"),
    _f("atlassian", ("ATATT", "ATCTT", "ATOAT"), r"[A-Za-z0-9_\-=]{60,300}"),
    _f("bitbucket", ("ATBB",), f"[{_A}]{{28,64}}", _mixed),
    _f("sourcegraph", ("sgp_", "sgph_"), r"(?:local_|[a-f0-9]{16}_)?[a-f0-9]{40}"),
    _f("sonarqube", ("squ_", "sqp_", "sqa_"), f"[{_HEX}]{{40}}"),
    _f("buildkite", ("bkua_",), f"[{_HEX}]{{40}}"),
    _f("docker", ("dckr_pat_", "dckr_oat_"), r"[A-Za-z0-9_\-]{20,64}"),
    _f("circleci", ("CCIPAT_", "CCIPRJ_"), r"[A-Za-z0-9_]{20,96}"),
    # package registries
    _f("rubygem", ("rubygems_",), f"[{_HEX}]{{48}}"),
    _f("nuget", ("oy2",), "[a-z0-9]{43}", _mixed),
    _f("artifactory", ("AKCp",), f"[{_A}]{{60,80}}"),
    _f("artifactory", ("cmVmdGtu",), f"[{_A}+/=]{{56,80}}"),
    _f("clojars", ("CLOJARS_",), f"[{_A}]{{40,80}}"),
    # cloud
    _f("digitalocean", ("dop_v1_", "doo_v1_", "dor_v1_"), f"[{_HEX}]{{64}}"),
    Detector("azure", re.compile(r"(?<![A-Za-z0-9_~.\-])[A-Za-z0-9_~.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34}(?![A-Za-z0-9_~.\-])"), ("Q~",)),
    _f("alibaba", ("LTAI",), f"[{_A}]{{12,24}}", _mixed),
    _f("onepassword", ("ops_eyJ",), r"[A-Za-z0-9_\-+/=]{40,2048}"),
    _f("onepassword", ("A3-",), r"[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})(?:-[A-Z0-9]{5}){3}"),
    _f("aws", ("ABSK",), f"[{_A}+/=]{{100,400}}", _mixed),
    _f("aws", ("bedrock-api-key-",), f"[{_A}+/=_\\-]{{40,2048}}"),
    _f("google", ("GOCSPX-",), r"[A-Za-z0-9_\-]{28}"),
    _f("google", ("ya29.",), r"[A-Za-z0-9_\-.]{30,2048}"),
    _f("google", ("1//0",), r"[A-Za-z0-9_\-]{40,512}"),
    _f("heroku", ("HRKU-",), r"[A-Za-z0-9_\-]{36,80}"),
    _f("hashicorp", ("hvs.", "hvb.", "hvr."), r"[A-Za-z0-9_\-]{24,512}"),
    Detector("hashicorp", re.compile(_B + r"[a-z0-9]{14}\.atlasv1\.[A-Za-z0-9_\-=]{60,80}" + _E), (".atlasv1.",)),
    _f("doppler", ("dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."), f"[{_A}_\\-.]{{40,64}}"),
    _f("pulumi", ("pul-",), f"[{_HEX}]{{40}}"),
    _f("cloudflare", ("v1.0-",), f"[{_HEX}]{{24}}-[{_HEX}]{{140,150}}"),
    _f("fly", ("fo1_", "fm1r_", "fm2_"), r"[A-Za-z0-9_\-+/=]{20,2048}"),
    _f("supabase", ("sbp_", "sb_secret_"), r"[A-Za-z0-9_\-]{32,64}"),
    _f("tailscale", ("tskey-",), r"(?:api|auth|client|scim|webhook)?-?[A-Za-z0-9_\-]{16,128}"),
    _f("netlify", ("nfp_",), f"[{_A}]{{36,48}}"),
    _f("age", ("AGE-SECRET-KEY-1",), "[0-9A-Z]{58}"),
    # chat and mail
    _f("slack", ("xapp-", "xoxe.xox", "xoxe-"), r"[A-Za-z0-9\-.]{16,255}"),
    Detector("discord", re.compile(r"(?:https?://)?(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_\-]{60,68}" + _E), ("/api/webhooks/",)),
    # A bot token starts with its numeric id in base64: "1".."9" then a digit encode to these,
    # so it is tried only where one of them occurs.
    Detector("discord", re.compile(r"[MNO](?<![A-Za-z0-9_\-][MNO])[A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40}" + _E),
             ("MT", "Mj", "Mz", "ND", "NT", "Nj", "Nz", "OD", "OT"), 0, _discord_valid, at_anchor=True),
    _f("mailgun", ("key-",), f"[{_HEX}]{{32}}"),
    _f("mailchimp", ("",), f"[{_HEX}]{{32}}-us[0-9]{{1,2}}", anchors=("-us",)),
    _f("telegram", ("",), "[0-9]{8,10}:AA[A-Za-z0-9_\\-]{33}", anchors=(":AA",)),
    Detector("teams", re.compile(r"(?:https?://)?(?:[A-Za-z0-9\-]{1,63}\.)?(?:webhook\.office\.com/webhookb2|outlook\.office(?:365)?\.com/webhook)/[A-Za-z0-9@\-]{36,120}/IncomingWebhook/[a-f0-9]{32}/[a-f0-9\-]{36}(?:/[A-Za-z0-9_\-]{20,80})?"), ("/IncomingWebhook/",)),
    _f("sendinblue", ("xkeysib-", "xsmtpsib-"), f"[{_HEX}]{{64}}-[{_A}]{{16}}"),
    # payments
    _f("shopify", ("shpat_", "shpss_", "shpca_", "shppa_"), f"[{_A}]{{32}}"),
    _f("flutterwave", ("FLWSECK-", "FLWPUBK-", "FLWSECK_TEST-", "FLWPUBK_TEST-"), f"[{_A}]{{12,32}}(?:-X)?"),
    _f("square", ("sq0atp-", "sq0csp-", "EAAA"), r"[A-Za-z0-9_\-]{22,60}", _mixed),
    _f("razorpay", ("rzp_live_", "rzp_test_"), f"[{_A}]{{14,24}}"),
    _f("braintree", ("access_token$production$", "access_token$sandbox$"), f"[{_A}]{{16}}\\$[{_HEX}]{{32}}"),
    _f("coinbase", ("organizations/",), f"[{_HEX}\\-]{{36}}/apiKeys/[{_HEX}\\-]{{36}}", anchors=("/apiKeys/",)),
    _f("shippo", ("shippo_live_", "shippo_test_"), f"[{_HEX}]{{40}}"),
    _f("duffel", ("duffel_live_", "duffel_test_"), r"[A-Za-z0-9_\-=]{43}"),
    _f("easypost", ("EZAK", "EZTK"), f"[{_A}]{{54}}"),
    # AI
    _f("perplexity", ("pplx-",), f"[{_A}]{{40,56}}"),
    _f("huggingface", ("api_org_",), "[A-Za-z]{30,40}"),
    _f("groq", ("gsk_",), f"[{_A}]{{48,56}}"),
    _f("xai", ("xai-",), f"[{_A}]{{70,90}}"),
    _f("replicate", ("r8_",), f"[{_A}]{{37}}"),
    _f("langsmith", ("lsv2_pt_", "lsv2_sk_"), r"[a-f0-9]{32}_[a-f0-9]{10}"),
    _f("pinecone", ("pcsk_",), r"[A-Za-z0-9_]{40,100}"),
    _f("nvidia", ("nvapi-",), r"[A-Za-z0-9_\-]{64}"),
    # databases and data
    _f("databricks", ("dapi", "dkea", "dose"), f"[{_HEX}]{{32}}(?:-[0-9])?"),
    _f("planetscale", ("pscale_tkn_", "pscale_pw_", "pscale_oauth_"), r"[A-Za-z0-9_\-.=]{32,64}"),
    _f("airtable", ("pat",), f"[{_A}]{{14}}\\.[{_HEX}]{{64}}"),
    _f("mongodb", ("mdb_sa_sk_",), r"[A-Za-z0-9_\-]{40,64}"),
    # observability and SaaS
    _f("grafana", ("glc_", "glsa_"), r"[A-Za-z0-9_\-+/=]{32,400}"),
    _f("newrelic", ("NRAK-", "NRII-", "NRJS-", "NRAA-"), f"[{_A}]{{19,32}}"),
    _f("sentry", ("sntrys_eyJ", "sntryu_", "sntrya_"), r"[A-Za-z0-9_\-+/=]{40,400}"),
    _f("dynatrace", ("dt0c01.", "dt0s01.", "dt0s16."), f"[{_A}]{{24}}\\.[{_A}]{{64}}"),
    _f("linear", ("lin_api_", "lin_oauth_"), f"[{_A}]{{40,64}}"),
    _f("notion", ("ntn_", "secret_"), f"[{_A}]{{40,50}}", _mixed),
    _f("postman", ("PMAK-",), f"[{_HEX}]{{24}}-[{_HEX}]{{34}}"),
    _f("contentful", ("CFPAT-",), r"[A-Za-z0-9_\-]{43}"),
    _f("dropbox", ("sl.u.", "sl.B", "sl.A"), r"[A-Za-z0-9_\-=]{120,1400}"),
    _f("adafruit", ("aio_",), f"[{_A}]{{28}}"),
    _f("readme", ("rdme_",), f"[{_A}]{{70}}"),
    _f("prefect", ("pnu_",), f"[{_A}]{{36}}"),
    _f("typeform", ("tfp_",), r"[A-Za-z0-9_\-.]{44,64}"),
    _f("mapbox", ("sk.eyJ",), r"[A-Za-z0-9_\-.]{60,300}"),
    _f("infracost", ("ico-",), f"[{_A}]{{32}}"),
    _f("octopus", ("API-",), "[A-Z0-9]{26,32}", _mixed),
    _f("yandex", ("y0_", "t1."), r"[A-Za-z0-9_\-.]{50,300}", _mixed),
    _f("plaid", ("access-sandbox-", "access-development-", "access-production-"), f"[{_HEX}\\-]{{36}}"),
    _f("snyk", ("snyk_",), r"[A-Za-z0-9_\-.]{32,128}"),
)  # fmt: skip
"""Provider formats, each named for the provider (its placeholder is ``[REDACTED:name]``)."""
