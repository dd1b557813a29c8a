"""`Settings` built in code gets the CLI's parsers and messages: bad input fails at once, in one
line naming the field, instead of later with an AttributeError."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mock_server.exceptions import SettingsError
from mock_server.settings import ApiKey, RateLimit, Settings, from_options


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"seed": "seven"}, "seed: must be a whole number from 0 to 9223372036854775807 (got 'seven')"),
        (
            {"rate_limit": "2/sec0nd"},
            "rate_limit: must look like 600/minute or 2/s (N/second|minute|hour|day or N/s|m|h|d, optionally N/10second, N >= 1) (got '2/sec0nd')",
        ),
        (
            {"rate_limit": RateLimit(0, 60)},
            "rate_limit: must look like 600/minute or 2/s (N/second|minute|hour|day or N/s|m|h|d, optionally N/10second, N >= 1) (got '0/60second')",
        ),
        (
            {"api_keys": (ApiKey("has space", 3),)},
            "api_keys: a key is 1-512 printable characters without spaces, ':' or ',' (got (hidden))",
        ),
        ({"page_size": 0}, "page_size: must be a whole number from 1 to 100 (got 0)"),
        ({"port": True}, "port: must be a whole number from 0 to 65535 (got True)"),
        ({"handles": {"alice": -1}}, "handles: must be a whole number from 0 to 10000000 (got {'alice': -1})"),
        (
            {"contract": Path("/no/such/contract.yaml")},
            "contract: no such file: /no/such/contract.yaml (got '/no/such/contract.yaml')",
        ),
    ],
)
def test_bad_values_fail_at_construction(fields: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as failed:
        Settings(**fields)  # type: ignore[arg-type]
    assert str(failed.value) == message
    with pytest.raises(SettingsError):
        dataclasses.replace(Settings(), **fields)


def test_text_is_parsed_and_typed_values_are_kept() -> None:
    settings = Settings(seed="7", rate_limit="2/second", api_keys=["sk_test:30"], handles={"@alice": "25"})  # type: ignore[arg-type]
    assert (settings.seed, settings.rate_limit, settings.api_keys, settings.handles) == (
        7, RateLimit(2, 1), (ApiKey("sk_test", 30),), {"alice": 25},
    )  # fmt: skip
    typed = Settings(rate_limit=RateLimit(10**9, 86_400), api_keys=(ApiKey("sk_test", 5, False),))
    assert (typed.rate_limit, typed.api_keys) == (RateLimit(10**9, 86_400), (ApiKey("sk_test", 5, False),))


def test_options_name_themselves_and_unknown_ones_are_listed() -> None:
    with pytest.raises(SettingsError, match=r"^keys: a key is 1-512"):
        from_options({"keys": ["a b"]}, {"keys": "api_keys"})
    with pytest.raises(SettingsError, match=r"^unknown option 'sead' \(known: .*seed"):
        from_options({"sead": 1})
