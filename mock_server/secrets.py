"""API keys: how they are shown (masked) and compared (in constant time, through a digest)."""

from __future__ import annotations

import hashlib
import hmac
import re

SHOWN_PREFIX = 4
BEARER = re.compile(r"^Bearer ([\x21-\x7e]{1,512})$")


def mask(key: str | None) -> str:
    """Only a short prefix of a key ever leaves the process: 'sk_live_abc123' -> 'sk_l…'."""
    if not key:
        return ""
    if len(key) < 2 * SHOWN_PREFIX:
        return "…"
    return key[:SHOWN_PREFIX] + "…"


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


def mask_text(text: str, keys: list[str]) -> str:
    """Mask every occurrence of known keys and of anything that looks like a bearer token."""
    for key in keys:
        if key:
            text = text.replace(key, mask(key))
    return re.sub(r"(Bearer\s+)(\S{%d})\S+" % SHOWN_PREFIX, r"\1\2…", text)
