"""API keys: how they are shown (masked), found in text (in any encoding) and compared (in
constant time, through a digest).

This is the project's ONE masking module: every writer (the mock's journal, state file, access log
and headers, the proxy's journal and `X-Mock-Violations`, the contract kit's output, junit.xml,
findings.json and drift-report.md) masks through `mask`, `mask_text` or `mask_excerpt`, so a
change of rule here reaches every output.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

SHOWN_EACH_END = 4  # at most this many characters of each end of a key are shown
BEARER = re.compile(r"^Bearer ([\x21-\x7e]{1,512})$")
# An Authorization value in free text whose key is not known: the token is masked whole. The token
# is printable ASCII taken whole (possessive), so an already masked one ("sk_l…cdef") is left alone.
CREDENTIAL = re.compile(r"\b(Bearer|Basic)(\s+)([\x21-\x7e]++)(?!…)")
MAX_FORM = 16  # the longest encoded form of one character matched below (e.g. \\\\\\\\u002f, %252f)


def mask(key: str | None) -> str:
    """A key as it may be shown: each end shows a quarter of the key, at most 4 characters, so at
    most half of a key (and never more than 8 of its characters) leaves the process, and keys with
    different ends stay distinguishable: 'sk_live_0123456789abcdef' -> 'sk_l…cdef',
    'sk_mock_demo' (12) -> 'sk_…emo'. Under 8 characters nothing is shown: '…'."""
    if not key:
        return ""
    shown = min(SHOWN_EACH_END, len(key) // 4)
    if shown < 2:
        return "…"
    return key[:shown] + "…" + key[-shown:]


def digest(key: str) -> bytes:
    """Keys are stored and looked up by digest, so the plain key is never kept in state."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def same_key(stored_digest: bytes, presented: str) -> bool:
    return hmac.compare_digest(stored_digest, digest(presented))


def bearer_key(authorization: str | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` header, or None when missing or malformed."""
    if not authorization:
        return None
    match = BEARER.match(authorization.strip())
    return match.group(1) if match else None


def mask_text(text: str, keys: Iterable[str], fragments: bool = False) -> str:
    """`text` with every occurrence of each key masked, as is or encoded (percent-encoding, also
    double, and '+' for a space or ' ' for a '+' once form-decoded; JSON and Python escapes
    `\\u0041`, `\\x41`, `\\"`, `\\/`, with any number of backslashes up to 8; HTML character
    references), mixed freely within one occurrence; and any `Bearer`/`Basic` credential. With
    `fragments`, also a key someone else already cut: its first or last `fragment_chars`
    characters or more, as is (for text this process did not cut itself, e.g. schemathesis'
    messages; it may mask a little more than the key, as `_credits` of `sk_mock_low_credits`)."""
    marked = (
        "%" in text or "\\" in text or "&" in text
    )  # what starts an encoded character: without it a key can only be there as is
    for key in keys:
        if not key:
            continue
        if key in text:
            text = text.replace(key, mask(key))
        if marked or ("+" in key and " " in text) or (" " in key and "+" in text):
            text = _pattern(key).sub(mask(key), text)
        size = fragment_chars(key)
        if fragments and (key[:size] in text or key[-size:] in text):
            text = _mask_fragments(text, key, size)
    if "Bearer" in text or "Basic" in text:
        text = CREDENTIAL.sub(lambda m: m.group(1) + m.group(2) + mask(m.group(3)), text)
    return text


def fragment_chars(key: str) -> int:
    """The shortest piece of a key's start or end masked on its own: 4 characters more than the
    mask shows, so that an excerpt another tool cut through a key (schemathesis shortens long
    bodies in its messages) shows no more of it than the mask does, give or take those 4."""
    return min(len(key), min(SHOWN_EACH_END, len(key) // 4) + 4)


def _mask_fragments(text: str, key: str, size: int) -> str:
    """Every run of text that is a start of `key` (at least `size` characters) becomes the mask's
    start and '…'; every run that is an end of `key` becomes '…' and the mask's end."""
    shown = mask(key).split("…")
    head, tail = shown[0], shown[-1]
    out: list[str] = []
    at = 0
    while (found := text.find(key[:size], at)) >= 0:  # starts of the key, each as long as it goes on
        end = found + size
        while end - found < len(key) and end < len(text) and text[end] == key[end - found]:
            end += 1
        out += [text[at:found], head + "…"]
        at = end
    text = "".join(out) + text[at:]
    out, at = [], 0
    while (found := text.find(key[-size:], at)) >= 0:  # ends of the key, each from as far back as it goes
        start, end = found, found + size
        while end - start < len(key) and start > at and text[start - 1] == key[len(key) - (end - start) - 1]:
            start -= 1
        out += [text[at:start], "…" + tail]
        at = end
    return "".join(out) + text[at:]


def url_secrets(url: str | None) -> list[str]:
    """What a base URL with credentials (a user and password before the host) holds that must
    never be written: the user:password pair (as written and decoded, and as the Basic credential
    an HTTP client sends), and the password alone. Mask a URL with mask_text(url, url_secrets(url))."""
    try:
        parts = urlsplit(url or "")
        password = parts.password
    except ValueError:  # a port that is not a number: the userinfo is still masked whole
        parts, password = urlsplit(url or ""), None
    userinfo = parts.netloc.rpartition("@")[0]
    if not userinfo:
        return []
    decoded = f"{unquote(parts.username or '')}:{unquote(password or '')}"
    basic = base64.b64encode(decoded.encode("utf-8", "replace")).decode()
    alone = [
        p for p in (password or "", unquote(password or "")) if len(p) >= 4
    ]  # a shorter one only as part of the pair; none with a user alone
    return [s for s in dict.fromkeys([userinfo, decoded, basic, *alone]) if s]


def mask_excerpt(text: str, keys: Iterable[str], limit: int, fragments: bool = False) -> str:
    """The first `limit` characters of `text`, masked BEFORE the cut: a key straddling the cut is
    masked whole, never left as a prefix. Only a window a little longer than `limit` is read."""
    return _masked_window(text, keys, limit, fragments)[:limit]


def _masked_window(text: str, keys: Iterable[str], limit: int, fragments: bool = False) -> str:
    keys = [k for k in keys if k]
    longest = max((len(k) for k in keys), default=0)
    window = text[: limit + (longest + 64) * MAX_FORM]  # 64: a Bearer token longer than any key
    return mask_text(window, keys, fragments)


def mask_bytes_excerpt(text: str, keys: Iterable[str], limit: int) -> str:
    """As `mask_excerpt`, cut at `limit` UTF-8 bytes (a character cut in two becomes U+FFFD)."""
    keys = tuple(k for k in keys if k)
    if len(text) * 4 <= limit and plain(text, keys):
        return text  # the common case, kept cheap
    masked = mask_excerpt(text, keys, limit)
    encoded = masked.encode("utf-8", "surrogatepass")
    return masked if len(encoded) <= limit else encoded[:limit].decode("utf-8", "replace")


def mask_data(value: Any, keys: Iterable[str], limit: int | None = None) -> Any:
    """A JSON-like value (dicts, lists, strings) with every string, dict keys too, masked and then
    cut to `limit` characters (marked with '…'): what a journal entry or a report holds."""
    return _mask_value(value, tuple(k for k in keys if k), limit)


def _mask_value(value: Any, keys: tuple[str, ...], limit: int | None) -> Any:
    if isinstance(value, str):
        if (limit is None or len(value) <= limit) and plain(value, keys):
            return value  # the common case, kept cheap: nothing to mask, nothing to cut
        if limit is None:
            return mask_text(value, keys)
        masked = _masked_window(value, keys, limit)
        return masked if len(masked) <= limit else masked[:limit] + "…"
    if isinstance(value, dict):
        return {
            _mask_value(k, keys, limit) if isinstance(k, str) else k: _mask_value(v, keys, limit)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_mask_value(v, keys, limit) for v in value]
    return value


def plain(text: str, keys: tuple[str, ...]) -> bool:
    """True when `text` cannot hold a key or a credential in any form mask_text knows."""
    if "%" in text or "\\" in text or "&" in text or "Bearer" in text or "Basic" in text:
        return False
    for key in keys:
        if key in text or ("+" in key and " " in text) or (" " in key and "+" in text):
            return False
    return True


@functools.lru_cache(maxsize=64)
def _pattern(key: str) -> re.Pattern[str]:
    return re.compile("".join(_forms(c) for c in key))


def _forms(c: str) -> str:
    """A regular expression for one character of a key, as is or in any encoding above."""
    code = ord(c)
    forms = [re.escape(c)]
    utf8 = c.encode("utf-8", "surrogatepass")
    forms.append("".join(f"%(?:25){{0,3}}(?i:{b:02x})" for b in utf8))  # percent-encoded, up to 4 times
    hex4 = f"{code:04x}" if code <= 0xFFFF else None
    if hex4:
        forms.append(rf"\\{{1,8}}(?i:u{hex4})")
    if code < 0x100:
        forms.append(rf"\\{{1,8}}(?i:x{code:02x})")
    if c in "\"\\/'":
        forms.append(r"\\{1,8}" + re.escape(c))
    forms.append(rf"&#0{{0,4}}{code};")
    forms.append(rf"&#(?i:x)0{{0,4}}(?i:{code:x});")
    named = {
        "&": "(?:amp|AMP)",
        "<": "(?:lt|LT)",
        ">": "(?:gt|GT)",
        '"': "(?:quot|QUOT)",
        "'": "(?:apos|#39)",
    }  # HTML5 names
    if c in named:
        forms.append(f"&{named[c]};")
    if c == "+":
        forms.append(" ")  # a '+' form-decoded into a space
    if c == " ":
        forms.append(r"\+")
    return "(?:" + "|".join(forms) + ")"
