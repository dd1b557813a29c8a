"""Bounded memo of work that depends only on a response body (parsing it, validating it,
summarising it): a mock sends the same bytes many times, and that work is most of a request's cost
once the page itself is cached. Bounded by the bytes of the bodies it remembers, so memory stays
flat whatever the traffic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import cachetools

T = TypeVar("T")
MEMO_BYTES = 4 * 1024 * 1024
ENTRY_OVERHEAD = 200  # the key tuple and the cache's bookkeeping, roughly


class BodyMemo(Generic[T]):
    """`get(key, body, compute)`: compute() once per distinct key; `key` must include `body`.
    Thread-safe (the contract kit may validate from several threads)."""

    def __init__(self, max_bytes: int = MEMO_BYTES, entry_overhead: int = ENTRY_OVERHEAD) -> None:
        """`entry_overhead`: what a remembered value costs beyond its body's bytes, roughly."""
        self.max_bytes = max_bytes
        self.entry_overhead = entry_overhead
        self._cache: cachetools.LRUCache[Hashable, tuple[int, T]] = cachetools.LRUCache(
            max_bytes, getsizeof=lambda entry: entry[0]
        )
        self._lock = threading.Lock()

    def get(self, key: Hashable, body: bytes, compute: Callable[[], T]) -> T:
        with self._lock:
            entry = self._cache.get(key)
        if entry is not None:
            return entry[1]
        value = compute()
        if len(body) <= self.max_bytes // 16:  # a huge body is computed every time rather than evicting all
            with self._lock:
                self._cache[key] = (len(body) + self.entry_overhead, value)
        return value

    def __len__(self) -> int:
        return len(self._cache)
