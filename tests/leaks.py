"""Tests only: does a text hold a secret, or a piece of it, in any form a reader could decode?"""

from __future__ import annotations

import html
import re
from urllib.parse import unquote, unquote_plus


def views(text: str) -> list[str]:
    """`text` and what a reader could decode it into: percent-, form-, JSON- and HTML-decoded."""
    unescaped = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    unescaped = re.sub(r"\\+([\"/\\\\])", r"\1", unescaped)
    out = [text, unquote(text), unquote(unquote(text)), unquote_plus(text), unescaped, html.unescape(text)]
    return out + [unquote(unescaped), unescaped.replace("\\", "")]


def leaks(secret: str, text: str, window: int = 9) -> list[str]:
    """Pieces of `secret` longer than the mask shows (4 characters at each end) found in `text`."""
    pieces = {secret[i : i + window] for i in range(len(secret) - window + 1)} or {secret}
    return sorted({p for view in views(text) for p in pieces if p in view})
