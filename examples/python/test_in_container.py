"""Against the mock's Docker image (conftest.py): any language's tests can do the same over HTTP."""

from videos_client import fetch_all_videos

DEMO_KEY = "sk_mock_demo"  # the image's demo key (README: "Keys, credits and rate limits")


def test_pages_a_profile_and_the_journal_is_clean(dumpling_url, admin):
    videos = fetch_all_videos(dumpling_url, DEMO_KEY, "videos-25")  # videos-N has exactly N videos
    assert len(videos) == 25
    assert admin.get("/requests/count", params={"handle": "videos-25", "status": 200}).json() == {"count": 3}
    verdict = admin.post("/requests/verify").json()
    assert verdict["ok"] and verdict["summary"] == {"requests": 3, "violations": 0, "warnings": 0}, verdict


def test_retries_two_503s(dumpling_url, admin):
    admin.post("/faults", json={"status": 503, "count": 2}).raise_for_status()
    assert len(fetch_all_videos(dumpling_url, DEMO_KEY, "videos-25")) == 25
    assert [e["status"] for e in admin.get("/requests").json()["requests"]] == [503, 503, 200, 200, 200]
