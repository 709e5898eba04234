"""Key-value shapes without an assignment character, and passwords in command lines.

A sensitive key followed by blanks (``PROV_TOKEN v``, ``using password v``), by a call's
parenthesis (``setApiKey("v")``), by a comma (``define('API_KEY', 'v')``, ``getenv("X", "v")``,
``token,v``), by a default operator (``process.env.API_TOKEN || "v"``), by a string type
(``var apiToken string = "v"``), or after its value (``v is the password``); and the password
flags of common command-line tools (``curl -u user:v``, ``mysql -pv``, ``sshpass -p v``).

The key is found from its words, not from a separator: each stem of a sensitive word in the
lower-cased text, at a word boundary, is widened to the whole key. Without an assignment the
key may be prose ("password reset e-mail sent", "Token validation failed"), so an unquoted
value is hidden only when it has the shape of a credential, and a quoted one unless it is a
plain name (``get_token("github")``). Every pattern is bounded and matched at most once per
stem or tool word, so the scan is linear in the text.
"""

from __future__ import annotations

import re

from seawall.observability.redaction.keys import KeyMatcher
from seawall.observability.redaction.pairs import _AUTH_SCHEMES, Span, gated_value
from seawall.observability.redaction.shapes import credential_like

__all__ = ["LooseReader", "cli_spans"]

# The key words whose keys are read without an assignment, each found at its rarest letter
# ("k" of token and key, "w" of password and pwd, "c" of secret, cred, cookie, conn, "h" of
# auth and passphrase, "g" of login) and checked around it: the regex engine skips in C to the
# next of those letters, far fewer than the "p", "s", "t" a scan for the whole words stops at.
# Keys of the other sensitive words ("pass" alone, "pat", "session") need an assignment.
_STEMS = (
    r"(?:k(?<=tok)(?=en)|k(?=ey)|w(?<=pw)|w(?<=passw)|c(?<=sec)(?=ret)|c(?<=passc)(?=ode)"
    r"|c(?=red|ookie|onn)|h(?<=auth)|h(?<=passph)(?=rase)|h(?<=ssh)(?=pass)|g(?<=log)(?=in))"
    r"[a-z0-9_.\-]{0,63}+"
)
_STEM = re.compile(_STEMS)
# The same, only where one of the forms can follow the key: a key followed by an assignment
# (the pair reader's) costs no match, so a line of such keys costs one regex call.
_CANDIDATE = re.compile(
    _STEMS + r"(?=(?:\\?[\"'`])?(?:\(|\)?[ \t]{0,4}[,;|]|[\])]{0,2}[ \t]{0,4}(?:\|\||\?\?|<-|or )"
    r"|[ \t]{1,4}[^\s=:]))"
)
_KEY_HEAD = re.compile(r"[A-Za-z0-9_.\-]{0,63}")  # matched on the reversed text
_STRING_TYPES = r"(?:string|String|str|&str|\[\]byte|CharSequence|SecureString)"
_FORM = re.compile(
    r"(?:\\?[\"'`])?(?:"
    r"(?P<call>\([ \t]{0,4})"
    r"|(?P<comma>\)?[ \t]{0,4}[,;|](?!\|)[ \t]{0,4})"
    r"|(?P<default>[\])]{0,2}[ \t]{0,4}(?:\|\||\?\?|<<-|<-|or(?= ))[ \t]{0,4})"
    r"|(?P<typed>[ \t]{1,4}" + _STRING_TYPES + r"[ \t]{0,4}=(?![=>])[ \t]{0,4})"
    r"|(?P<blank>[ \t]{1,4}(?:(?:is|was|->)[ \t]{1,4})?)"
    r")"
)
# A call's first argument, then a quoted second one: set_password(user, "v"), login("ann", "v").
_FIRST_ARGUMENT = re.compile(
    r"(?:\"[^\"\n]{0,256}\"|'[^'\n]{0,256}'|[A-Za-z_][A-Za-z0-9_.]{0,63})"
    r"[ \t]{0,4},[ \t]{0,4}(?=[\"'])"
)
_BARE = re.compile(r"[^\s\"'`,;<>(){}\[\]=]{6,4096}")
_PLAIN = re.compile(r"[A-Za-z]{1,64}(?:[_\-. ][A-Za-z]{1,64}){0,8}")
_TRAILING = ".,;:!?"
_QUOTES = "\"'`"
# "v is the password": read backwards from the key, on the reversed text.
_IS_THE = re.compile(
    r"[ \t]{1,4}(?:(?:eht|ym|ruo|ruoy)[ \t]{1,4})?(?:si|saw)[ \t]{1,4}"
    r"([^\s\"'`,;<>(){}\[\]=#]{8,256})"
)
_ASCII_LOWER = {code: code + 32 for code in range(65, 91)}


def _plain(value: str) -> bool:
    """A name rather than a secret: letters in words (``github``, ``sessionid``, ``API_TOKEN``)."""
    return _PLAIN.fullmatch(value) is not None and not credential_like(value)


class LooseReader:
    """Finds values of sensitive keys that follow them without an assignment character."""

    def __init__(self, keys: KeyMatcher) -> None:
        self._keys = keys

    def spans(self, text: str, lowered: str) -> list[Span]:
        """The values to hide; ``lowered`` is ``text`` lower-cased (ASCII letters only are
        used, so a text whose lower case changes length is folded here instead)."""
        if len(lowered) != len(text):
            lowered = text.translate(_ASCII_LOWER)
        spans: list[Span] = []
        label, gated = self._keys.label, self._keys.gated
        reverse = ""
        size = len(text)
        done = 0
        is_the = " is " in text or " was " in text
        for hit in (_STEM if is_the else _CANDIDATE).finditer(lowered):
            at, end = hit.span()
            if at < done:
                continue
            while end > at and text[end - 1] in ".-":
                end -= 1
            done = end
            after = text[end : end + 12].lstrip(" \t\"'`]\\")[:1]
            if after in "=:" and not is_the:
                continue  # "token = v", "token: v" (and "" at the end): the pair reader's
            form = _FORM.match(text, end)
            if (
                form is not None
                and form.lastgroup == "blank"
                and text[form.end() : form.end() + 1] in "=:"
            ):
                form = None
            if form is None and not is_the:
                continue
            if not reverse:
                reverse = text[::-1]
            head = _KEY_HEAD.match(reverse, size - at)
            start = at - (head.end() - head.start()) if head is not None else at
            while start < at and text[start] in ".-":
                start += 1
            name = text[start:end]
            strong = label(name) is not None
            if not strong and not gated(name):
                continue
            found = None if form is None else self._after(text, form, start, end, strong)
            if found is None and is_the and strong and start and text[start - 1] == " ":
                found = _before(text, reverse, start)
            if found is not None:
                spans.append((*found, "key_value"))
        return spans

    def _after(
        self, text: str, form: re.Match[str], start: int, end: int, strong: bool
    ) -> tuple[int, int] | None:
        """The span of the value that follows the key at ``text[start:end]`` in ``form``, or
        None."""
        kind = form.lastgroup
        at = form.end()
        if kind == "typed" and text[max(0, start - 6) : start].rstrip(" \t").endswith(
            ("var", "const", "val", "let")
        ):
            kind = "comma"  # "var apiToken string = v": read as any value after a key
        elif kind == "typed":
            return None
        found = _quoted_value(text, at, strong)
        if found is None and kind == "call":
            first = _FIRST_ARGUMENT.match(text, at)  # the password after the user
            if first is not None:
                found = _quoted_value(text, first.end(), strong)
        if found is not None or text[at : at + 1] in _QUOTES:
            return found
        if kind in ("call", "default"):
            return None  # an unquoted argument is a variable: setToken(token)
        if (
            kind == "blank"
            and not text[end:at].strip()
            and text[start:end].lower() in _AUTH_SCHEMES
        ):
            return None  # "Bearer <token>" in prose: the auth_header detector's
        value_match = _BARE.match(text, at)
        if value_match is None:
            return None
        value_end = value_match.end()
        while text[value_end - 1] in _TRAILING:
            value_end -= 1
        value = text[at:value_end]
        shaped = credential_like(value) if strong else gated_value(value)
        return (at, value_end) if shaped else None


def _quoted_value(text: str, at: int, strong: bool) -> tuple[int, int] | None:
    """The span inside the quotes at ``at`` if it may be a secret: not a plain name, and for a
    key that names a secret only sometimes, credential-shaped."""
    quote = text[at : at + 1]
    if not quote or quote not in _QUOTES:
        return None
    close = text.find(quote, at + 1, at + 4098)
    if close <= at + 1 or text.find("\n", at + 1, close) >= 0:
        return None
    value = text[at + 1 : close]
    if _plain(value) or not (strong or gated_value(value)):
        return None
    return at + 1, close


def _before(text: str, reverse: str, start: int) -> tuple[int, int] | None:
    """The span of a credential-shaped value before ``is the <key>`` (``v is the password``)."""
    size = len(text)
    match = _IS_THE.match(reverse, size - start)
    if match is None:
        return None
    first, last = size - match.end(1), size - match.start(1)
    while text[first] in "/":
        first += 1
    return (first, last) if credential_like(text[first:last]) else None


# Command-line tools whose short flag carries a password: (tool words, flag pattern). The
# flag's value runs to the next blank; a quoted value to its closing quote.
_TOOLS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("mysql", "mariadb", "7z"), r"-p(?=[^\s\-])"),
    (("sshpass",), r"-p[ \t]{0,4}"),
    (("mongo", "login"), r"-p[ \t]{1,4}"),
    (("redis-cli",), r"-a[ \t]{1,4}"),
    (("sqlcmd", "bcp", "zip", "unzip", "mosquitto_"), r"-P[ \t]{1,4}"),
    (("ldap",), r"-w[ \t]{1,4}"),
    (("smbclient",), r"-U[ \t]{1,4}[^\s%\"']{1,128}%"),
    (("lftp",), r"-u[ \t]{1,4}[^\s,\"']{1,128},"),
    (("openssl",), r"-k[ \t]{1,4}"),
)
# Literal alternatives only: the regex engine then skips in C to the next possible first letter.
_TOOL = re.compile("|".join(word for words, _ in _TOOLS for word in words))
_TOOL_FLAGS = {
    word: re.compile(r"(?<![^\s])" + flag + r"([\"']?)([^\s\"']{1,4096})\1")
    for words, flag in _TOOLS
    for word in words
}
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-")
_COMMAND_END = re.compile(r"[\n;|&]")
_USER_FLAG = re.compile(
    r"-(?<![^\s\"'=]-)(?:u|U|-user|-proxy-user|-auth|a)(?:[ \t]{1,4}|=)?([\"']?)"
    r"([^\s:\"'@/]{0,128}):([^\s\"']{1,4096})\1"
)


def cli_spans(text: str) -> list[Span]:
    """Passwords in command lines: ``-u user:v`` / ``--user user:v`` (curl, httpie), and each
    tool's own password flag (``mysql -pv``, ``sshpass -p v``, ``redis-cli -a v``, ``docker
    login -p v``, ``ldapsearch -w v``, ``smbclient -U user%v``, ...)."""
    spans: list[Span] = []
    for match in _USER_FLAG.finditer(text):
        user, password = match.group(2), match.group(3)
        if password != user and not password.isdigit() and password[0] not in "$%":
            spans.append((*match.span(3), "key_value"))  # not "-u 1000:1000", "-u $U:$P"
    at = 0
    while (tool := _TOOL.search(text, at)) is not None:
        at = tool.end()
        if tool.start() and text[tool.start() - 1] in _WORD_CHARS:
            continue  # "gzip", "unmysql": not the tool
        limit = min(len(text), at + 1024)
        command_end = _COMMAND_END.search(text, at, limit)
        end = command_end.start() if command_end is not None else limit
        for flag in _TOOL_FLAGS[tool.group()].finditer(text, at, end):
            value = flag.group(2)
            if value[0] not in "$%" and not (value.isdigit() and len(value) <= 5):
                spans.append((*flag.span(2), "key_value"))  # not "$PASS", not a port
        at = max(at, end)
    return spans
