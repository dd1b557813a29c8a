"""HAR 1.2 (HTTP Archive) files: read any tool's, write ours, never with a credential in them.

HAR is what browsers' devtools, mitmproxy, Playwright and schemathesis read and write, so a
recording made here opens elsewhere and one made elsewhere replays here. Writing goes through the
`harfile` library (schemathesis' own HAR writer); reading is plain JSON, lenient the way browser
exports need (HTTP/2 pseudo-headers, bodies missing or base64-encoded, `postData` without text).

Credentials never reach the disk: `scrub` replaces credential headers with a placeholder (never a
hash of the key, which a dictionary could reverse) and masks the known keys anywhere else through
the project's one masking function (`secrets.mask_text`). `write` replaces the file atomically, so
a recorder killed at any moment leaves the previous complete, valid file.
"""

from __future__ import annotations

import base64
import io
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import harfile
import orjson

from mock_server import __version__
from mock_server.exceptions import HarError
from mock_server.server.secrets import mask_text

PLACEHOLDER = "REDACTED"  # what a credential header's value becomes, after its scheme ("Bearer REDACTED")
# Headers whose whole value is a credential (RFC 9110 sections 11.6-11.7, cookies, common API-key headers).
CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "x-auth-token"}
)
MAX_HAR_BYTES = 256 * 1024 * 1024  # a HAR larger than this is refused, not read into memory


@dataclass(frozen=True)
class Exchange:
    """One request and its response, as a HAR entry holds them (bodies as bytes)."""

    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes
    status: int
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes
    status_text: str = ""
    started: str = "1970-01-01T00:00:00+00:00"  # ISO 8601, as HAR wants it
    time_ms: float = 0.0
    index: int = 0  # position in its file, from 0

    def header(self, name: str, response: bool = True) -> str | None:
        """A header's value (case-insensitive; repeated headers joined with ', ')."""
        values = [
            v for n, v in (self.response_headers if response else self.request_headers) if n.lower() == name.lower()
        ]
        return ", ".join(values) if values else None


# --- scrubbing ------------------------------------------------------------------------------
def scrub(exchange: Exchange, keys: Iterable[str]) -> Exchange:
    """The exchange as it may be written: credential headers become a placeholder, known keys and
    bearer tokens anywhere else (URL, other headers, both bodies) are masked."""
    keys = [k for k in [*keys, *credentials(exchange)] if k]

    def text(value: str) -> str:
        return mask_text(value, keys)

    def body(value: bytes) -> bytes:
        try:
            decoded = value.decode("utf-8")
        except UnicodeDecodeError:
            return value  # not text: a key could only be in it as its UTF-8 bytes
        masked = text(decoded)
        return value if masked == decoded else masked.encode("utf-8")

    def headers(items: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        return tuple(
            (name, placeholder(value) if name.lower() in CREDENTIAL_HEADERS else text(value)) for name, value in items
        )

    return replace(
        exchange,
        url=text(exchange.url),
        request_headers=headers(exchange.request_headers),
        request_body=body(exchange.request_body),
        response_headers=headers(exchange.response_headers),
        response_body=body(exchange.response_body),
    )


def credentials(exchange: Exchange) -> list[str]:
    """The secrets the credential headers carry (a bearer token, an API-key header, cookie values),
    so that the same secret is masked wherever else it appears (a URL, a body)."""
    found = []
    for name, value in (*exchange.request_headers, *exchange.response_headers):
        lowered = name.lower()
        if lowered in ("cookie", "set-cookie"):
            pairs = value.split(";") if lowered == "cookie" else value.split(";")[:1]
            found += [v.strip() for _, _, v in (p.partition("=") for p in pairs) if len(v.strip()) >= 8]
        elif lowered in CREDENTIAL_HEADERS:
            scheme, _, rest = value.strip().partition(" ")
            found.append(rest.strip() if rest and scheme.isalpha() else value.strip())
    return [f for f in found if len(f) >= 8]  # shorter values would mask ordinary words


def placeholder(value: str) -> str:
    """`Bearer sk_live_…` -> `Bearer REDACTED`: the scheme stays (it tells how the client
    authenticated), nothing of the credential does."""
    scheme, _, rest = value.strip().partition(" ")
    return f"{scheme} {PLACEHOLDER}" if rest and scheme.isalpha() and len(scheme) <= 16 else PLACEHOLDER


# --- writing ----------------------------------------------------------------------------------
def render(exchanges: Iterable[Exchange]) -> str:
    """A complete HAR 1.2 document holding `exchanges`, in order."""
    out = io.StringIO()
    with harfile.HarFile(out, creator=harfile.Creator(name="dumpling-mock", version=__version__)) as har:
        for ex in exchanges:
            har.add_entry(
                startedDateTime=ex.started,
                time=round(ex.time_ms, 3),
                request=harfile.Request(
                    method=ex.method,
                    url=ex.url,
                    httpVersion="HTTP/1.1",
                    headers=[harfile.Record(name=n, value=v) for n, v in ex.request_headers],
                    postData=harfile.PostData(
                        mimeType=ex.header("content-type", response=False) or "",
                        text=ex.request_body.decode("utf-8", "replace"),
                    )
                    if ex.request_body
                    else None,
                    bodySize=len(ex.request_body),
                ),
                response=harfile.Response(
                    status=ex.status,
                    statusText=ex.status_text,
                    httpVersion="HTTP/1.1",
                    headers=[harfile.Record(name=n, value=v) for n, v in ex.response_headers],
                    content=_content(ex),
                    bodySize=len(ex.response_body),
                ),
                timings=harfile.Timings(send=0, wait=round(ex.time_ms, 3), receive=0),
            )
    return out.getvalue()


def _content(ex: Exchange) -> harfile.Content:
    mime = ex.header("content-type") or ""
    try:
        return harfile.Content(size=len(ex.response_body), mimeType=mime, text=ex.response_body.decode("utf-8"))
    except UnicodeDecodeError:  # HAR 1.2: binary content is base64 with "encoding": "base64"
        return harfile.Content(
            size=len(ex.response_body),
            mimeType=mime,
            text=base64.b64encode(ex.response_body).decode(),
            encoding="base64",
        )


def write(path: Path, exchanges: Iterable[Exchange]) -> None:
    """Replace `path` atomically (a temporary file in the same folder, flushed, then renamed):
    a reader, or a recorder killed mid-write, only ever sees a complete HAR."""
    text = render(exchanges)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- reading ----------------------------------------------------------------------------------
def read(path: Path) -> list[Exchange]:
    """The entries of a HAR 1.x file, in file order; HarError (one line) when it is not one."""
    try:
        if path.stat().st_size > MAX_HAR_BYTES:
            raise HarError(f"{path}: larger than {MAX_HAR_BYTES // (1024 * 1024)} MB")
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise HarError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except orjson.JSONDecodeError as exc:
        raise HarError(f"{path}: not JSON ({exc})") from None
    log = data.get("log") if isinstance(data, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise HarError(f"{path}: not a HAR file (no log.entries)")
    exchanges = []
    for index, entry in enumerate(log["entries"]):
        try:
            exchanges.append(_exchange(entry, index))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise HarError(f"{path}: entry {index} is not a HAR entry ({type(exc).__name__}: {exc})") from None
    return exchanges


def _exchange(entry: dict[str, Any], index: int) -> Exchange:
    request, response = entry["request"], entry["response"]
    post = request.get("postData") or {}
    content = response.get("content") or {}
    body = (content.get("text") or "").encode("utf-8")
    if content.get("encoding") == "base64":
        body = base64.b64decode(body)
    return Exchange(
        method=str(request["method"]).upper(),
        url=str(request["url"]),
        request_headers=_headers(request.get("headers")),
        request_body=(post.get("text") or "").encode("utf-8"),
        status=int(response["status"]),
        status_text=str(response.get("statusText") or ""),
        response_headers=_headers(response.get("headers")),
        response_body=body,
        started=str(entry.get("startedDateTime") or ""),
        time_ms=float(entry.get("time") or 0),
        index=index,
    )


def _headers(items: Any) -> tuple[tuple[str, str], ...]:
    """HAR headers, without HTTP/2 pseudo-headers (`:authority`, `:status`), which browsers export."""
    return tuple((str(h["name"]), str(h["value"])) for h in items or [] if not str(h["name"]).startswith(":"))
