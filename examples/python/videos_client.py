"""An example client of DumplingAI's get-tiktok-profile-videos: pages a profile to the end and
retries the documented 503 (rate limit). The code under test in the example tests."""

from __future__ import annotations

import time
from typing import Any

import httpx

ENDPOINT = "/api/v1/get-tiktok-profile-videos"


def fetch_all_videos(
    base_url: str, api_key: str, handle: str, retries: int = 3, backoff_s: float = 0.05
) -> list[dict[str, Any]]:
    """Every video of `handle`, newest first. A 503 is retried `retries` times, waiting
    backoff_s, 2 x backoff_s, ... (short here; use seconds against the real API)."""
    videos: list[dict[str, Any]] = []
    cursor: str | None = None
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=10) as client:
        while True:
            body = {"handle": handle, **({"maxCursor": cursor} if cursor else {})}
            for attempt in range(retries + 1):
                response = client.post(ENDPOINT, json=body)
                if response.status_code != 503 or attempt == retries:
                    break
                time.sleep(backoff_s * 2**attempt)
            response.raise_for_status()
            page = response.json()
            videos += page["aweme_list"]
            if page["has_more"] != 1:
                return videos
            cursor = page["max_cursor"]
