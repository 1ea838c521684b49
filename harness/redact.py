"""Secrets out of everything a run writes under its reports directory.

Reports travel: CI keeps them as artifacts, people attach them to tickets. What the nodes hand
back can carry credentials — a kubelet journal line with a bearer token, containerd's
config.toml with a registry password, a kubeconfig's client key in a task result, a PEM key in
a config file — so every writer passes its text (or, for JSON, its data) through here, and
files other programs write there (pytest's JUnit, ansible-runner's artifacts) are rewritten
through here once those programs are done.

What counts as a secret:
* PEM private key blocks (the body; the BEGIN/END lines stay, so a reader sees a key was there);
* the value of a key whose name says it holds a credential, wherever in the name the word is:
  `password`, `passwd`, `passphrase`, `secret`, `credential`, `private key`, `api key` and
  `client-key-data` anywhere (`AWS_SECRET_ACCESS_KEY`, `HARNESS_SSH_KEY_PASSPHRASE`,
  `registry_password`, `privateKey`), a word ending in `token` (`my_token`, `GITHUB_TOKEN`,
  `identitytoken`; not `max_tokens`), and `auth` or `authorization` as the last word (a registry
  config's `auth`, an `Authorization` header; not `authorization-mode`). A name ending in
  `file`, `path`, `dir`, `name` or `ttl` holds a reference to a secret, not the secret, and
  stays. Values are found as YAML (`token: x`), JSON (`"auth": "x"`), TOML
  (`password = "x"`), env or flags (`--token=x`) write them;
* HTTP credentials (`Bearer x`, `Basic x`), JSON web tokens (service-account tokens) and
  kubeadm bootstrap tokens wherever they appear, and the password of `scheme://user:pw@host`.

Certificates (`client-certificate-data`, `ca.crt`) are public and stay. The mask is the plain
word REDACTED, which is valid wherever a value is in XML, JSON, YAML, TOML and shell text, so a
redacted file still parses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

MASK = "REDACTED"

_PEM = re.compile(r"(?P<begin>-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----)(?P<body>.*?)"
                  # the END line, or, in output cut short, the end of the text
                  r"(?P<end>-----END \2PRIVATE KEY-----|\Z)", re.S)
# The key's base64 (and any header words) within the block; what frames each line (a diff's
# "-", a comment's "#", indentation, JSON's escaped newlines) stays.
_PEM_BODY = re.compile(r"(?<!\\)[A-Za-z0-9+/=]+")
# A key naming a credential has one of these in it; secret_name() then decides by its words.
_KEYWORDS = (r"(?:token|passw(?:or)?d|passphrase|secret|credential|auth|private[_-]?key"
             r"|api[_-]?key|client-key-data)")
# A credential-naming key, its separator, an optional quote (a backslash before it when the
# text is JSON inside JSON, as in ansible-runner's event files) and the value up to that quote,
# or for an unquoted value up to the next space or delimiter.
_KEY_VALUE = re.compile(
    rf"(?P<key>\b[\w.-]*?{_KEYWORDS}[\w.-]*?\\*[\"']?)(?P<sep>[ \t]*[:=][ \t]*)"
    r"(?P<quote>\\*[\"'])?"
    # a bare value that is no secret: YAML's empty values, the mask, an HTTP scheme whose
    # credential _HTTP_AUTH already took
    r"(?(quote)(?P<quoted>[^\"'\\\n]+)|(?P<bare>(?!(?:null|true|false|none|~|REDACTED)\b)"
    r"(?!(?:Bearer|Basic)[ \t])"
    r"[^\s\"',;}\]\\]+))",
    re.I)
# A name and its value given as two fields: a JUnit <property name=... value=...>, a
# Kubernetes env entry (`- name: DB_PASSWORD` / `value: x`), in XML, YAML or JSON.
_Q = r"(?:\\*[\"'])?"
_NAME_VALUE = re.compile(
    rf"(?P<head>\bname{_Q}[ \t]*[:=][ \t]*{_Q}(?P<name>[\w.-]+){_Q}[\s,]*(?:-[ \t]+)?"
    rf"{_Q}value{_Q}[ \t]*[:=][ \t]*{_Q})(?P<value>(?!REDACTED\b)[^\s\"'\\<>,}}\]]+)")
_HTTP_AUTH = re.compile(r"\b(Bearer|Basic)([ \t]+)[A-Za-z0-9._~+/=-]{8,}", re.I)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+")
_BOOTSTRAP_TOKEN = re.compile(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b")
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^@\s/]+@")
_WORD_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[^A-Za-z0-9]+")
# Words that make a name secret wherever they stand in it (`AWS_SECRET_ACCESS_KEY`)...
_ANYWHERE = re.compile(r"passw(?:or)?d|passphrase|secret|credential|privatekey|apikey"
                       r"|clientkeydata")
# ...and those that do only as its last word: `registry_auth` but not `authorization-mode`.
_LAST = ("auth", "authorization")
# A name that points at a secret rather than holding it: `token_file`, `secretName`.
_REFERENCE = ("file", "path", "dir", "name", "ttl")


def secret_name(key: str) -> bool:
    """Whether a key (a variable, field, flag or header name) names a credential."""
    words = [w.lower() for w in _WORD_BREAK.split(key.strip("-\\\"'")) if w]
    if not words or words[-1] in _REFERENCE:
        return False
    # `private_key`, `api-key`, `client-key-data` as one word each
    joined = "".join(words)
    return (bool(_ANYWHERE.search(joined)) or words[-1] in _LAST
            or any(w.endswith("token") for w in words))


def _pem(match: re.Match) -> str:
    return f"{match['begin']}{_PEM_BODY.sub(MASK, match['body'])}{match['end']}"


def _name_value(match: re.Match) -> str:
    return match.group(0) if not secret_name(match["name"]) else f"{match['head']}{MASK}"


def _key_value(match: re.Match) -> str:
    if match.group("quoted") is None and match.group("bare") is None:
        return match.group(0)
    head = f"{match.group('key')}{match.group('sep')}{match.group('quote') or ''}"
    if not secret_name(match.group("key")):
        # `max_tokens=5`: no secret, but its value may hold a key that names one
        value = match.group("quoted") if match.group("quoted") is not None \
            else match.group("bare")
        return head + _KEY_VALUE.sub(_key_value, value)
    return head + MASK


def text(value: str) -> str:
    """`value` with every secret it carries replaced by REDACTED."""
    if not value:
        return value
    value = _PEM.sub(_pem, value)
    # before the keys: `Authorization: Bearer x` must lose x, not only the word Bearer
    value = _HTTP_AUTH.sub(rf"\1\2{MASK}", value)
    value = _KEY_VALUE.sub(_key_value, value)
    value = _NAME_VALUE.sub(_name_value, value)
    value = _JWT.sub(MASK, value)
    value = _BOOTSTRAP_TOKEN.sub(MASK, value)
    return _URL_PASSWORD.sub(rf"\1{MASK}@", value)


def data(value):
    """A JSON-shaped value (dicts, lists, strings) redacted: a credential-naming key's scalar
    value becomes REDACTED, every string is redacted as text."""
    if isinstance(value, dict):
        return {k: MASK if _is_secret(k, v) else data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [data(v) for v in value]
    return text(value) if isinstance(value, str) else value


def _is_secret(key, value) -> bool:
    return (isinstance(key, str) and secret_name(key)
            and isinstance(value, str | int | float) and not isinstance(value, bool)
            and value != "")


def file(path: Path) -> None:
    """Rewrite a file another program wrote, redacted: JSON through `data` (it stays JSON),
    anything else as text; a file that is not UTF-8 text (an image layer, a database) is left
    alone, as it holds no text a reader would open."""
    path = Path(path)
    try:
        original = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return
    if path.suffix == ".json":
        try:
            redacted = json.dumps(data(json.loads(original)), indent=1)
        except ValueError:  # a partly written event file: as text
            redacted = text(original)
    else:
        redacted = text(original)
    if redacted != original:
        path.write_text(redacted, encoding="utf-8")


def tree(directory: Path) -> None:
    """Every file under `directory` through `file`."""
    for path in sorted(Path(directory).rglob("*")):
        if path.is_file() and not path.is_symlink():
            file(path)
