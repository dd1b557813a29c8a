"""With the pytest plugin (on once dumpling-mock is installed): a fresh mock per test."""

import pytest
from videos_client import fetch_all_videos


@pytest.mark.dumpling_mock(keys={"sk_test": 100}, handles={"alice": 25})
def test_pages_alice_to_the_end(dumpling_mock):
    videos = fetch_all_videos(dumpling_mock.url, dumpling_mock.api_key, "alice")
    assert len(videos) == 25
    assert dumpling_mock.credits() == 100 - 30  # three pages, 10 credits each
    dumpling_mock.assert_clean(warnings=True)


@pytest.mark.dumpling_mock(handles={"alice": 25})
def test_retries_two_503s(dumpling_mock):
    dumpling_mock.fault(503, times=2)
    assert len(fetch_all_videos(dumpling_mock.url, dumpling_mock.api_key, "alice")) == 25
    assert [e.status for e in dumpling_mock.requests(handle="alice")] == [503, 503, 200, 200, 200]
    dumpling_mock.assert_clean()
