"""The Python API, through the public names only (`from mock_server import ...`), as a user's
test suite would use it: sync and async context managers, unittest, every method's promise."""

from __future__ import annotations

import asyncio
import io
import unittest

import httpx
import pytest

import mock_server
from mock_server import ClientCheckError, ClientFinding, JournalEntry, MockServer, SettingsError, compile_contract
from mock_server.cli.main import main as cli_main

ENDPOINT = "/api/v1/get-tiktok-profile-videos"
COMPILED = compile_contract()


def test_the_public_names_are_pinned() -> None:
    assert mock_server.__all__ == [
        "ClientCheckError",
        "ClientFinding",
        "CompiledContract",
        "DumplingMockError",
        "JournalEntry",
        "MockServer",
        "SettingsError",
        "__version__",
        "compile_contract",
    ]
    for name in mock_server.__all__:
        assert getattr(mock_server, name) is not None
    with pytest.raises(AttributeError):
        mock_server.create_app  # noqa: B018 - internals are not re-exported


def post(mock: MockServer, body: dict[str, object], key: str | None = None) -> httpx.Response:
    return httpx.post(
        mock.url + ENDPOINT, headers={"Authorization": f"Bearer {key or mock.api_key}"}, json=body, timeout=10
    )


def page_to_end(mock: MockServer, handle: str) -> int:
    cursor, count = None, 0
    while True:
        page = post(mock, {"handle": handle, **({"maxCursor": cursor} if cursor else {})}).json()
        count += len(page["aweme_list"])
        if page["has_more"] != 1:
            return count
        cursor = page["max_cursor"]


def test_a_mock_pages_spends_credits_and_is_clean() -> None:
    with MockServer(compiled=COMPILED, keys={"sk_test_alpha": 100}, handles={"alice": 25}) as mock:
        assert mock.api_key == "sk_test_alpha"
        assert mock.url.startswith("http://127.0.0.1:")
        assert page_to_end(mock, "alice") == 25
        assert mock.credits() == 70
        assert mock.credits("sk_test_alpha") == 70
        mock.assert_clean(warnings=True)
        assert mock.violations(warnings=True) == []
        entries = mock.requests()
        assert all(isinstance(e, JournalEntry) for e in entries)
        assert [(e.status, e.handle, e.json()["handle"]) for e in entries] == [(200, "alice", "alice")] * 3
        url = mock.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/__admin/health", timeout=2)  # stopped: the port is closed


def test_default_keys_are_the_demo_keys_and_unknown_keys_are_named() -> None:
    with MockServer(compiled=COMPILED) as mock:
        assert mock.api_key == "sk_mock_demo"
        assert mock.credits() == 1_000_000
        with pytest.raises(KeyError, match="no such key"):
            mock.credits("sk_nobody_has_this")


def test_set_credits_makes_the_next_request_a_403() -> None:
    with MockServer(compiled=COMPILED, keys={"sk_test_alpha": 100}) as mock:
        mock.set_credits("sk_test_alpha", 5)
        assert mock.credits() == 5
        response = post(mock, {"handle": "alice"})
        assert response.status_code == 403
        assert response.json() == {"error": "Insufficient credits. Please top up your account."}
        mock.set_credits("sk_test_new_key", 10)
        assert post(mock, {"handle": "alice"}, key="sk_test_new_key").status_code == 200
        assert mock.credits("sk_test_new_key") == 0
        with pytest.raises(SettingsError, match="must be a whole number from 0"):
            mock.set_credits("sk_test_alpha", -1)


def test_a_fault_answers_the_next_requests_then_stops() -> None:
    with MockServer(compiled=COMPILED) as mock:
        mock.fault(503, times=2)
        assert [post(mock, {"handle": "alice"}).status_code for _ in range(3)] == [503, 503, 200]
        mock.fault(502, example="service_unavailable")
        response = post(mock, {"handle": "alice"})
        assert (response.status_code, response.json()) == (
            502,
            {"error": "The video service is currently unavailable."},
        )
        assert [(e.status, e.example, e.forced) for e in mock.requests(status=503)] == [
            (503, "rate_limited", "fault 1")
        ] * 2
        for bad, message in [
            ((418,), "status 418 is not documented"),
            ((502, "no_such_example"), "502 has no example 'no_such_example'"),
            ((None,), "a fault needs a status, a latency_ms, or both"),
            ((503, None, 0), "times must be a whole number of at least 1"),
            ((503, None, 1, 60_001), "latency_ms must be a whole number from 0 to 60000"),
        ]:
            with pytest.raises(ValueError, match=message):
                mock.fault(*bad)  # type: ignore[arg-type]


def test_a_fault_takes_the_admin_schema_steps_and_match() -> None:
    with MockServer(compiled=COMPILED, handles={"alice": 25, "bob": 25}) as mock:
        mock.fault(steps=[503, "502/service_unavailable"], match={"handle": "alice"})
        assert [post(mock, {"handle": "bob"}).status_code] == [200]
        assert [post(mock, {"handle": "alice"}).status_code for _ in range(3)] == [503, 502, 200]
        with pytest.raises(ValueError, match="give steps, or a one-step fault"):
            mock.fault(503, steps=[503])
        with pytest.raises(ValueError, match="match"):
            mock.fault(503, match={"colour": "red"})


def test_requests_filter_like_the_admin_api() -> None:
    with MockServer(compiled=COMPILED, keys={"sk_test_alpha": 100, "zz_test_beta": 100}) as mock:
        post(mock, {"handle": "alice"})
        post(mock, {"handle": "bob"}, key="zz_test_beta")
        post(mock, {"handle": ""})
        assert [e.handle for e in mock.requests(handle="bob")] == ["bob"]
        assert [e.handle for e in mock.requests(key="zz_test_beta")] == ["bob"], "a plain key is masked first"
        assert [e.status for e in mock.requests(status=400)] == [400]
        assert len(mock.requests(operation="listTikTokProfileVideos")) == 3
        assert mock.requests(operation="noSuchOperation") == []


def test_assert_clean_shows_the_request_the_rule_and_the_fix() -> None:
    with MockServer(compiled=COMPILED) as mock:
        post(mock, {"handle": "alice", "requestSource": "CLI"})
        httpx.get(mock.url + "/api/v1/no-such-path", timeout=10)
        findings = mock.violations()
        assert [(f.request, f.rule, f.severity) for f in findings] == [
            (1, "unknown-value", "violation"),
            (2, "unknown-path", "violation"),
        ]
        assert all(isinstance(f, ClientFinding) for f in findings)
        with pytest.raises(ClientCheckError) as failed:
            mock.assert_clean()
        report = str(failed.value)
        assert report.startswith(f"dumpling-mock: 2 contract violations in 2 request(s) to {mock.url}\n")
        assert "1  POST    /api/v1/get-tiktok-profile-videos  400" in report
        assert "violation unknown-value: requestSource 'CLI' is not one of the contract's values: API, WEB," in report
        assert "violation unknown-path: GET /api/v1/no-such-path is not an operation of the contract" in report
        assert isinstance(failed.value, AssertionError)
        mock.reset()
        mock.assert_clean()


def test_warnings_fail_only_when_asked() -> None:
    with MockServer(compiled=COMPILED, handles={"alice": 25}) as mock:
        post(mock, {"handle": "alice"})  # stops while has_more is 1
        mock.assert_clean()
        assert [f.rule for f in mock.violations(warnings=True)] == ["stopped-early"]
        with pytest.raises(ClientCheckError, match="warning   stopped-early: stopped paginating handle 'alice'"):
            mock.assert_clean(warnings=True)


def test_reset_restores_keys_and_empties_journal_and_faults() -> None:
    with MockServer(compiled=COMPILED, keys={"sk_test_alpha": 100}) as mock:
        post(mock, {"handle": "alice"})
        mock.fault(500, times=None)
        mock.reset()
        assert (mock.credits(), mock.requests()) == (100, [])
        assert post(mock, {"handle": "alice"}).status_code == 200


def test_each_mock_is_its_own_and_shares_the_compiled_contract() -> None:
    with MockServer(compiled=COMPILED, seed=1) as one, MockServer(compiled=COMPILED, seed=2) as two:
        assert one.url != two.url
        first, second = post(one, {"handle": "alice"}), post(two, {"handle": "alice"})
        assert first.content != second.content, "another seed, other data"
        assert (len(one.requests()), len(two.requests())) == (1, 1)


@pytest.mark.parametrize(
    ("options", "flag", "value"),
    [
        ({"rate_limit": "2/sec0nd"}, "--rate-limit", "2/sec0nd"),
        ({"seed": "seven"}, "--seed", "seven"),
        ({"page_size": 0}, "--page-size", "0"),
    ],
)
def test_bad_options_get_the_cli_message(
    options: dict[str, object], flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["serve", flag, value]) == 2
    cli_message = capsys.readouterr().err.strip().split(f"{flag}: ", 1)[1]
    with pytest.raises(SettingsError) as failed:
        MockServer(compiled=COMPILED, **options)
    name = next(iter(options))
    reason = cli_message.rsplit(" (got ", 1)[0]
    assert str(failed.value) == f"{name}: {reason} (got {options[name]!r})"


def test_options_a_test_mock_does_not_take_are_refused() -> None:
    with pytest.raises(SettingsError, match="unknown option 'colour'"):
        MockServer(compiled=COMPILED, colour="red")
    with pytest.raises(SettingsError, match="port: not an option of a test mock"):
        MockServer(compiled=COMPILED, port=8080)
    with pytest.raises(SettingsError, match="keys: a key is 1-512 printable characters"):
        MockServer(compiled=COMPILED, keys={"has space": 3})
    with pytest.raises(RuntimeError, match="not started"):
        MockServer(compiled=COMPILED).url  # noqa: B018


def test_async_context_manager_and_asgi_transport() -> None:
    async def run() -> tuple[int, int, int, list[int]]:
        async with MockServer(compiled=COMPILED, keys={"sk_test_alpha": 100}) as mock:
            async with httpx.AsyncClient(transport=mock.transport, base_url="http://mock") as client:
                served = await client.post(
                    ENDPOINT, headers={"Authorization": "Bearer sk_test_alpha"}, json={"handle": "alice"}
                )
                admin = await client.get("/__admin/keys")  # the transport's client is loopback
            async with httpx.AsyncClient(base_url=mock.url) as client:
                health = await client.get("/__admin/health")
            return served.status_code, admin.status_code, health.status_code, [e.status for e in mock.requests()]

    assert asyncio.run(run()) == (200, 200, 200, [200])


class UsedFromUnittest(unittest.TestCase):
    """setUpClass starts one mock, setUp resets it: WireMock's pattern."""

    __test__ = False  # run by test_usable_from_unittest through unittest's own runner
    mock: MockServer

    @classmethod
    def setUpClass(cls) -> None:
        cls.mock = MockServer(compiled=COMPILED, keys={"sk_test_alpha": 20}).start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.mock.stop()

    def setUp(self) -> None:
        self.mock.reset()

    def test_two_pages_spend_all_credits(self) -> None:
        self.assertEqual([post(self.mock, {"handle": "alice"}).status_code for _ in range(3)], [200, 200, 403])
        self.assertEqual(self.mock.credits(), 0)

    def test_after_reset_credits_are_back(self) -> None:
        self.assertEqual(self.mock.credits(), 20)


def test_usable_from_unittest() -> None:
    stream = io.StringIO()
    result = unittest.TextTestRunner(stream=stream, verbosity=0).run(
        unittest.defaultTestLoader.loadTestsFromTestCase(UsedFromUnittest)
    )
    assert (result.testsRun, result.failures, result.errors) == (2, [], []), stream.getvalue()


def test_the_docstring_examples_that_need_no_test_run() -> None:
    """The methods' examples assume a running test (`mock`, `entry`) and are shown, not run; the
    class's and compile_contract's are complete and run here."""
    import doctest

    import mock_server.testing.server as server

    result = doctest.testmod(server, optionflags=doctest.ELLIPSIS)
    assert (result.failed, result.attempted) == (0, 3)


def test_every_method_is_in_the_readme_with_a_docstring_example() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use it in your tests", 1)[1].split("\n## ", 1)[0]
    public = sorted(name for name in vars(MockServer) if not name.startswith("_") and name not in ("start", "stop"))
    assert public == [
        "api_key",
        "assert_clean",
        "credits",
        "fault",
        "requests",
        "reset",
        "set_credits",
        "transport",
        "url",
        "violations",
    ]
    for name in public:
        assert f"| `.{name}" in section, name
        doc = (
            (getattr(MockServer, name).__doc__ or "")
            if not isinstance(getattr(MockServer, name), property)
            else vars(MockServer)[name].__doc__
        )
        assert ">>> " in (doc or ""), f"{name} has no docstring example"
    for fixture in ("dumpling_mock", "dumpling_mock_factory", "dumpling_mock_contracts"):
        assert f"| `{fixture}` |" in section


def test_options_a_test_mock_cannot_take_say_why() -> None:
    with pytest.raises(
        SettingsError, match=r"^log_level: not an option of a test mock \(its logs follow your logging configuration"
    ):
        MockServer(compiled=COMPILED, log_level="debug")


def test_the_transport_needs_no_socket() -> None:
    mock = MockServer(compiled=COMPILED, keys={"sk_test_alpha": 100})  # never started: no port is opened

    async def run() -> list[int]:
        async with httpx.AsyncClient(transport=mock.transport, base_url="http://mock") as client:
            statuses = []
            for body in ({"handle": "alice"}, {"handle": ""}):
                response = await client.post(ENDPOINT, headers={"Authorization": "Bearer sk_test_alpha"}, json=body)
                statuses.append(response.status_code)
            return statuses

    try:
        assert asyncio.run(run()) == [200, 400]
        assert (mock.credits(), [e.status for e in mock.requests()]) == (90, [200, 400])
        assert [f.rule for f in mock.violations()] == ["handle"]
        with pytest.raises(RuntimeError, match="not started"):
            mock.url  # noqa: B018
    finally:
        mock.stop()
