"""Key-value shapes the reader reads beyond ``key=v``: keys followed by blanks, calls, commas,
defaults and types; command-line password flags; YAML tags and block scalars, triple quotes,
quoted keys with blanks, name/value pairs; the key words added for them; and the prose and
code around key words that must stay whole."""

from __future__ import annotations

import time

import pytest

from seawall.config.settings import Settings
from seawall.observability.redaction import Redactor, redact
from seawall.observability.redaction.keys import KeyMatcher
from seawall.observability.redaction.loose import LooseReader, cli_spans
from tests.credential_corpus import reader_near_matches

R = Redactor()
PASSWORD = "Hunter2-" + "Zq7Xw2Rt9"
TOKEN = "Zq7Xw2Rt9Lm4" + "Np6Vb8Kc3Hd5"
WORDY = "hunter2x9"  # short, but letters and digits: credential-shaped


def _hidden(line: str, secret: str) -> str:
    out = R.text(line)
    assert secret not in out, out
    assert "[REDACTED:" in out, out
    return out


# -- 1. a key and its value separated by blanks ----------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        f"PROV_TOKEN {TOKEN}",
        f"API_KEY  {TOKEN}",
        f"API_KEY\t{TOKEN}",
        f"using password {WORDY} for login",
        f"Password\t{WORDY}",
        f"the password is {WORDY}",
        f"db passphrase was {WORDY}.",
        f'password "{PASSWORD}" rejected',
        f"apiKey {TOKEN} expired",
        f"APIKey {TOKEN}",
        f"dbpassword {PASSWORD}",
        f"login with api_key {TOKEN} failed",
        f"# {TOKEN} is the password",
        f"//{TOKEN} is the token",
    ],
)
def test_a_key_and_a_credential_shaped_value_separated_by_blanks(line: str) -> None:
    """After a key word and blanks (or "is"/"was"), a credential-shaped value is hidden."""
    _hidden(line, TOKEN if TOKEN in line else PASSWORD if PASSWORD in line else WORDY)


def test_only_the_value_is_hidden_not_the_sentence_around_it() -> None:
    """The span ends where the value does: trailing punctuation and the rest stay."""
    assert R.text(f"using password {WORDY}. Retrying") == (
        "using password [REDACTED:key_value]. Retrying"
    )
    assert R.text(f"PROV_TOKEN {TOKEN} ok") == "PROV_TOKEN [REDACTED:key_value] ok"


# -- 2. calls, comma pairs, defaults, string types, operators --------------------------------


@pytest.mark.parametrize(
    "line",
    [
        f'setApiKey("{TOKEN}")',
        f"client.set_password('{PASSWORD}')",
        f'withToken( "{TOKEN}" )',
        f"define('API_KEY', '{TOKEN}');",
        f'os.environ["API_TOKEN"] = "{TOKEN}"',
        f'os.getenv("API_TOKEN", "{TOKEN}")',
        f'os.environ.get("DB_PASSWORD", "{PASSWORD}")',
        f'System.getenv().getOrDefault("API_KEY", "{TOKEN}")',
        f'config.set("password", "{PASSWORD}")',
        f"ENV['SECRET_KEY'] ||= '{TOKEN}'",
        f'$apiToken ??= "{TOKEN}";',
        f'$apiToken .= "{TOKEN}";',
        f'API_TOKEN ::= "{TOKEN}"',
        f'API_TOKEN :::= "{TOKEN}"',
        f'process.env.API_TOKEN || "{TOKEN}"',
        f'os.environ.get("API_TOKEN") or "{TOKEN}"',
        f'api_token <- "{TOKEN}"',
        f'var apiToken string = "{TOKEN}"',
        f'apiToken: String = "{TOKEN}"',
        f'let api_token: &str = "{TOKEN}";',
        f'API_TOKEN: Final[str] = "{TOKEN}"',
        f"apiToken,{TOKEN},",
        f'"api_token";"{TOKEN}"',
        f"| api_key | {TOKEN} |",
        f"api_token -> {TOKEN}",
        f'set_password(user, "{PASSWORD}")',
        f'HTTPBasicAuth("ann", "{PASSWORD}")',
        f'requests.get(url, auth=("ann", "{PASSWORD}"))',
        f'[("authorization", "Bearer {TOKEN}"), ("x-api-key", "{TOKEN}")]',
    ],
)
def test_calls_comma_pairs_defaults_and_typed_declarations(line: str) -> None:
    """A sensitive key as a call's name, a quoted first argument, before ``||``/``??``/``or``,
    or with a string type before its ``=``: the value is hidden."""
    _hidden(line, TOKEN if TOKEN in line else PASSWORD)


# -- 3. command lines ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        f"curl -u admin:{PASSWORD} https://api.example.com",
        f"curl --user admin:{PASSWORD} https://api.example.com",
        f"curl --user=admin:{PASSWORD} https://api.example.com",
        f"curl -uadmin:{PASSWORD} https://api.example.com",
        f"curl -u ':{TOKEN}' https://api.example.com",
        f"curl --proxy-user 'ann:{PASSWORD}' https://x",
        f"http -a ann:{PASSWORD} GET https://x",
        f"mysql -h db -u root -p{PASSWORD} shop",
        f"mysqldump -uroot -p'{PASSWORD}' shop > dump.sql",
        f"sshpass -p {PASSWORD} ssh deploy@host",
        f"sshpass -p'{PASSWORD}' ssh deploy@host",
        f"redis-cli -h cache -p 6379 -a {PASSWORD} ping",
        f"docker login -u ann -p {PASSWORD} registry.example.com",
        f"mongosh -u admin -p {PASSWORD} --authenticationDatabase admin",
        f"sqlcmd -S db -U sa -P {PASSWORD}",
        f"zip -r -P {PASSWORD} out.zip dir",
        f"ldapsearch -x -D cn=admin -w {PASSWORD} -b dc=example",
        f"smbclient //srv/share -U ann%{PASSWORD}",
        f"lftp -u ann,{PASSWORD} ftp.example.com",
        f"openssl enc -aes-256-cbc -k {PASSWORD} -in a",
        f"7z a -p{PASSWORD} backup.7z dir",
        f"PGPASSWORD={PASSWORD} psql -h db",
        f"SSHPASS={PASSWORD} sshpass -e ssh host",
        f"vault login -token {TOKEN}",
        f"tool --pass {PASSWORD}",
    ],
)
def test_password_flags_of_command_line_tools(line: str) -> None:
    """``-u user:v`` and each tool's own password flag hide the password."""
    _hidden(line, TOKEN if TOKEN in line else PASSWORD)


@pytest.mark.parametrize(
    "line",
    [
        "mysql -u root -p shop",
        "mysql -P 3306 -h db",
        "docker run -u 1000:1000 -p 8080:80 web",
        "docker run -u www-data:www-data web",
        'curl -u "$USER:$PASS" https://x',
        "curl -u admin https://x",
        "ssh -p 2222 deploy@host",
        "redis-cli -p 6379 ping",
        "gzip -p 4 file",
        "login -p 22",
        "zip -r out.zip dir",
    ],
)
def test_command_lines_without_a_password_are_kept(line: str) -> None:
    """Ports, user:group ids, shell variables and prompts for a password stay."""
    assert R.text(line) == line


def test_command_line_passwords_honour_the_key_value_switch() -> None:
    """The flags are read by the key-value reader: switching ``key_value`` off keeps them
    (``high_entropy``, which would take the random values too, is off as well)."""
    off = Redactor(
        Settings.from_mapping(
            {"redaction": {"detectors": {"key_value": False, "high_entropy": False}}}
        ).redaction
    )
    line = f"curl -u admin:{PASSWORD} https://x; PROV_TOKEN {TOKEN}"
    assert off.text(line) == line


# -- 4. quoting, YAML tags and block scalars, name/value pairs, XML --------------------------


@pytest.mark.parametrize(
    "line",
    [
        f'password = """{PASSWORD}"""',
        f'password = r"{PASSWORD}"',
        f"password = b'{PASSWORD}'",
        f'password = rb"{PASSWORD}"',
        f'string password = @"{PASSWORD}";',
        f'password: &pw "{PASSWORD}"',
        f"password = '''{PASSWORD}'''",
        f'secret = """\n{TOKEN}\n"""',
        f"password: !!str {PASSWORD}",
        f"password: !secret {PASSWORD}",
        f"token: |\n  {TOKEN}\n",
        f"token: |-\n    {TOKEN}",
        f"secret: >-\n  {TOKEN}\n  {TOKEN[::-1]}\nnext: 1",
        f"api:\n  token: >\n    {TOKEN}\n  region: eu",
        f"private_key: !!binary |\n  {TOKEN}",
        f'"db password": "{PASSWORD}"',
        f'"api key": "{PASSWORD}"',
        f"'Access Token' = '{TOKEN}'",
        f'{{"name": "API_TOKEN", "value": "{TOKEN}"}}',
        f"env:\n- name: DB_PASSWORD\n  value: {PASSWORD}\n- name: HOST\n  value: db",
        f'[{{"Name": "password", "Value": "{PASSWORD}"}}]',
        f'{{"key": "API_KEY", "value": "{TOKEN}"}}',
        f"<apiToken>\n    {TOKEN}\n</apiToken>",
    ],
)
def test_quoting_yaml_blocks_and_name_value_pairs(line: str) -> None:
    """Triple quotes, YAML tags and block scalars (every indented line), quoted keys with
    blanks, ``name``/``value`` pairs and multi-line XML elements hide the value."""
    out = _hidden(line, TOKEN if TOKEN in line else PASSWORD)
    assert TOKEN[::-1] not in out, out


def test_a_value_that_only_looks_like_a_yaml_tag_is_the_value() -> None:
    """``password: !Pa55w0rd # note``: nothing after the "tag" but a comment, so it is the
    value."""
    out = R.text("password: !Pa55w0rd  # rotated")
    assert "Pa55w0rd" not in out, out


def test_a_block_scalar_ends_at_the_first_line_not_indented_past_its_key() -> None:
    """The lines after the block stay."""
    out = R.text(f"app:\n  token: |\n    {TOKEN}\n  region: eu-west-1\nlevel: info")
    assert out == "app:\\n  token: |\\n    [REDACTED:key_value]\\n  region: eu-west-1\\nlevel: info"


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "token_count", "value": 12}',
        "name: web value: 3",
        "description: |\n  a long text\n",
        "PWD=/home/ann OLDPWD=/tmp",
    ],
)
def test_name_value_pairs_and_blocks_of_other_keys_are_kept(text: str) -> None:
    assert R.text(text) == text.replace("\n", "\\n")


# -- 5. key words ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["PROV_PAT", "github_pat", "AZURE_SAS", "sas", "db_creds", "cred", "passcode", "TS_AUTHKEY",
     "auth_key", "privkey", "SSHPASS", "storepass", "conn_string", "pwd", "passwd", "passphrase"],
)  # fmt: skip
def test_added_key_words(key: str) -> None:
    """Each added key word hides its value as a key in text and in a mapping."""
    assert redact({key: "v", "other": "kept"}) == {
        key: redact({key: "v"})[key],
        "other": "kept",
    }
    assert redact({key: "v"})[key].startswith("[REDACTED:")
    _hidden(f"{key}={PASSWORD}", PASSWORD)


@pytest.mark.parametrize(
    "key",
    ["path", "pattern", "compat", "pat_count", "sas_version", "credit", "creds_type", "patch"],
)
def test_lookalikes_of_the_added_key_words_are_kept(key: str) -> None:
    """Whole words only, and the weak words only as a key's last word."""
    assert redact({key: "value"}) == {key: "value"}


# -- prose and code around key words ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "password reset e-mail sent",
        "Token validation failed",
        "session length 42 s",
        "token count 1234",
        "the api key header is missing",
        "Invalid API key format",
        "password for user ann expired",
        "token was revoked by the admin",
        "password was changed by admin",
        "The password is too short",
        "secret manager unavailable, retrying",
        "XSRF-TOKEN cookie set",
        "bypass mode on, 12 tests passed",
        "sas 12Gb/s drive attached",
        "key length 2048 bits",
        "primary key 123 violates unique constraint",
        'get_token("github")',
        'fields = ("username", "password", "email")',
        '["token", "session", "cookie"]',
        'logger.info("token", extra=fields)',
        'raise KeyError("password")',
        "setToken(token)",
        'cache_key("user:1:profile")',
        'get_token("github", "default")',
        'password_fields = ["password", "confirm"]',
        "Token validation -> failed",
        "set_password(pw)",
        'print("secret", secret)',
        "ssh-keygen -t ed25519 -C ann",
        "The password is 'correct horse'",
        "PROV_TOKEN ",
        "a password  ",
    ],
)
def test_prose_and_code_around_key_words_are_kept(text: str) -> None:
    """Without an assignment, words, names, variables and numbers after a key word stay."""
    assert R.text(text) == text


def test_bearer_in_prose_is_left_to_the_auth_header_detector() -> None:
    """``Bearer <token>`` without an assignment is the auth_header detector's, so switching
    that off keeps it (the blank-separated reading skips auth scheme words; ``high_entropy``,
    which would take the random token, is off as well)."""
    off = Redactor(
        Settings.from_mapping(
            {"redaction": {"detectors": {"auth_header": False, "high_entropy": False}}}
        ).redaction
    )
    line = f"failed for Bearer {TOKEN} while syncing"
    assert off.text(line) == line
    assert TOKEN not in R.text(line)


def test_the_loose_reader_folds_text_whose_lower_case_changes_length() -> None:
    """Offsets stay right when ``str.lower`` would change the text's length (``İ``)."""
    text = f"İİ PROV_TOKEN {TOKEN} ok"
    spans = LooseReader(KeyMatcher()).spans(text, text.lower())
    assert [text[a:b] for a, b, _ in spans] == [TOKEN]
    assert cli_spans(f"İ curl -u a:{PASSWORD}") != []


# -- linear cost -----------------------------------------------------------------------------


def test_every_new_pattern_is_linear_on_its_near_matches() -> None:
    """30 KB of each near-match input, through each reader whole (the redactor would cut it
    to ``max_field_length``), in bounded time: a quadratic pattern takes minutes here
    (generous bound for a loaded machine; the benchmark times 1 MB strings)."""
    loose, pairs = LooseReader(R.keys), R._pair_reader
    for text in reader_near_matches(30_000):
        started = time.perf_counter()
        loose.spans(text, text.lower())
        cli_spans(text)
        pairs.spans(text)
        R.text(text)
        assert time.perf_counter() - started < 3.0, text[:40]
