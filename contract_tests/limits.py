"""Bounds the kit keeps against a hostile or broken target: a response body is read under a cap
(`MAX_RESPONSE_BYTES` after decompression, mock_server.server.body_limits), each request must be complete
within `--timeout` seconds in total (connect, headers and the last body byte: a body trickling one
byte a second is cut), and the run stops sending at `--max-time` (a request in flight is cut
then), so every run ends, writes its reports and exits with its documented code.

The total deadlines use SIGALRM (an interval timer), which interrupts a blocking read wherever it
is; it only works in the main thread (pytest's) on POSIX. Elsewhere a request is bounded by
`--timeout` per read, as requests' own timeout does.
"""

from __future__ import annotations

import signal
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
import urllib3
from _pytest.outcomes import Skipped  # pytest.skip.Exception itself, as a class typing can subclass

from mock_server.exceptions import BodyTooLarge
from mock_server.server.body_limits import MAX_RESPONSE_BYTES, CappedBody

READ_CHUNK = 64 * 1024


class RunOutOfTime(Skipped):
    """The run reached --max-time: the request was not sent or was cut (the run is incomplete)."""


class _Expired(BaseException):
    """Raised by the timer inside a blocking read; turned into a timeout right away."""


class Limits:
    def __init__(self, timeout_s: float, max_time_s: float | None, max_bytes: int = MAX_RESPONSE_BYTES) -> None:
        self.timeout_s = timeout_s
        self.max_time_s = max_time_s
        self.max_bytes = max_bytes
        self.run_ends = time.monotonic() + max_time_s if max_time_s else float("inf")
        self.cuts: list[str] = []  # why bodies were cut since the kit's last send (response_too_large)
        self._armed = False

    @property
    def out_of_time(self) -> bool:
        return time.monotonic() >= self.run_ends

    def out_of_time_error(self) -> RunOutOfTime:
        return RunOutOfTime(f"the run reached --max-time {self.max_time_s:g} s")

    @contextmanager
    def request(self) -> Iterator[None]:
        """One request, complete within --timeout (and within the run's --max-time)."""
        if self.out_of_time:
            raise self.out_of_time_error()
        now = time.monotonic()
        run_first = self.run_ends <= now + self.timeout_s  # which deadline the timer stands for
        ends = min(now + self.timeout_s, self.run_ends)
        if not _timer_usable():
            yield
            return
        previous = signal.signal(signal.SIGALRM, self._expire)
        self._armed = True
        signal.setitimer(signal.ITIMER_REAL, max(0.001, ends - now))
        try:
            yield
        except _Expired:
            if run_first:
                raise self.out_of_time_error() from None
            raise requests.exceptions.ReadTimeout(f"no complete answer within --timeout {self.timeout_s:g} s") from None
        finally:
            self._armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def _expire(self, signum: int, frame: Any) -> None:
        if self._armed:
            self._armed = False
            raise _Expired()

    def read(self, response: requests.Response) -> None:
        """Read the body of a streamed response under the cap; a body over it is cut there (and
        noted in `cuts`), the connection closed. The body is decoded here, so requests does not."""
        body = CappedBody(response.headers.get("content-encoding"), self.max_bytes)
        raw = response.raw
        try:
            while True:
                chunk = (
                    raw.read1(READ_CHUNK, decode_content=False)
                    if hasattr(raw, "read1")
                    else raw.read(READ_CHUNK, decode_content=False)
                )
                if not chunk:
                    break
                body.feed(chunk)
            content = body.finish()
            if hasattr(raw, "release_conn"):
                raw.release_conn()  # read to the end: the connection may serve the next request
        except BodyTooLarge as exc:
            content = exc.kept
            self.cuts.append(
                f"{response.status_code} response body larger than {exc.cap} bytes{' after decompression' if body.encoding else ''}: cut there"
            )
            response.close()
        except (zlib.error, urllib3.exceptions.HTTPError, OSError) as exc:  # as requests' iter_content reports them
            response.close()
            raise _as_requests_error(exc) from exc
        response._content = content
        response._content_consumed = True


def _as_requests_error(exc: BaseException) -> requests.RequestException:
    if isinstance(exc, zlib.error):
        return requests.exceptions.ContentDecodingError(f"the body is not valid {type(exc).__name__}: {exc}")
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return requests.exceptions.ReadTimeout(str(exc))
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return requests.exceptions.ChunkedEncodingError(str(exc))
    return requests.exceptions.ConnectionError(str(exc))


def _timer_usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
