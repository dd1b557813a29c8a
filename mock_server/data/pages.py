"""Serialized TikTok pages, rendered once per distinct request and kept in a bounded LRU.

Rendering a page costs milliseconds (Faker text for every video); sending the same page again
costs a look-up. The data are a pure function of (settings, handle, maxCursor, trim), so a cached
page is byte-identical to a fresh one, in every worker. The cache is bounded by the bytes it
keeps, so memory stays flat however many handles a load test walks through.
"""

from __future__ import annotations

import threading

import cachetools
import orjson

from mock_server.data import quirks, tiktok
from mock_server.settings import Settings

PAGE_CACHE_BYTES = 4 * 1024 * 1024


class Pages:
    """`get(handle, max_cursor, trim)` -> the page's JSON bytes; raises tiktok.InvalidCursor."""

    def __init__(self, settings: Settings, max_bytes: int = PAGE_CACHE_BYTES) -> None:
        self.settings = settings
        self.max_bytes = max_bytes
        self._cache: cachetools.LRUCache[tuple[str, str | None, bool], bytes] = cachetools.LRUCache(
            max_bytes, getsizeof=len
        )
        self._lock = threading.Lock()  # cheap, and the in-process test client serves from another thread

    def get(self, handle: str, max_cursor: object, trim: bool) -> bytes:
        if max_cursor is not None and not isinstance(max_cursor, str):
            return self.render(handle, max_cursor, trim)  # not a cursor: tiktok.page says why
        key = (handle, max_cursor, trim)
        with self._lock:
            body = self._cache.get(key)
        if body is None:
            body = self.render(handle, max_cursor, trim)
            if len(body) <= self.max_bytes // 16:
                with self._lock:
                    self._cache[key] = body
        return body

    def render(self, handle: str, max_cursor: object, trim: bool) -> bytes:
        settings = self.settings
        count = tiktok.video_count(settings.seed, handle, settings.handles)
        profile = tiktok.Profile(settings.seed, handle, count, settings.page_size)
        if settings.fidelity == "docs" and not settings.quirks:
            body = tiktok.page(profile, max_cursor, trim)
        else:  # README "Data fidelity and TikTok's pagination quirks"
            body = quirks.page(profile, max_cursor, trim, settings.fidelity, settings.quirks)
        page = orjson.dumps(body)
        return bytes(memoryview(page))  # an exact-size copy: orjson's bytes keep its write buffer, twice the size

    def __len__(self) -> int:
        return len(self._cache)
