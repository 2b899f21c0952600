"""Hide secrets in anything that may be printed or logged: URLs, headers, messages.

One helper for the whole project. ``redact_url`` masks the user and password of a URL and
the values of secret-looking query parameters (``api_key``, ``key``, ``token``, ...);
``redact_headers`` masks ``Authorization``-like headers; ``redact_text`` does both to every
URL inside a free text and replaces any explicitly known secret (an API key from the
settings) wherever it appears. Pure functions; they do not decide what to log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
SECRET_PARAMS = frozenset(
    {"api_key", "apikey", "api-key", "key", "token", "access_token", "auth", "password",
     "passwd", "pwd", "secret", "client_secret", "sig", "signature", "x-api-key", "code"}
)
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")


def redact_url(url: str) -> str:
    """``url`` with its credentials and secret query values masked.

    >>> redact_url("http://user:KEY123@10.0.0.5:11434/v1?api_key=abc&x=1")
    'http://***:***@10.0.0.5:11434/v1?api_key=***&x=1'
    >>> redact_url("http://127.0.0.1:8080/v1")
    'http://127.0.0.1:8080/v1'
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return MASK  # unparsable: say nothing of it
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if port:
        netloc += f":{port}"
    if parts.username or parts.password:
        netloc = f"{MASK}:{MASK}@{netloc}" if parts.password else f"{MASK}@{netloc}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs], safe="*"
        )
    fragment = MASK if parts.fragment and "=" in parts.fragment else parts.fragment
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with authorization-like values masked.

    >>> redact_headers({"Authorization": "Bearer sk-1", "Accept": "json"})
    {'Authorization': '***', 'Accept': 'json'}
    """
    return {k: MASK if k.lower() in SECRET_HEADERS else v for k, v in headers.items()}


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every URL redacted and each known secret (4+ characters) masked.

    >>> redact_text("GET http://u:pw12@h/v1 failed; key sk-abcd", ["sk-abcd"])
    'GET http://***:***@h/v1 failed; key ***'
    >>> redact_text("Authorization: Bearer sk-live-1234")
    'Authorization: Bearer ***'
    """
    out = _URL.sub(lambda m: redact_url(m.group(0)), text)
    out = re.sub(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}", rf"\1 {MASK}", out)
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        out = out.replace(secret, MASK)
    return out
