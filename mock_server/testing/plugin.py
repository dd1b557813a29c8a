"""The pytest plugin (entry point `pytest11`, on as soon as dumpling-mock is installed).

Fixtures (function scope unless said):

- `dumpling_mock` -> MockServer: a fresh mock for this test, started before and stopped after it;
  options from the `@pytest.mark.dumpling_mock(keys=..., handles=..., ...)` marker.
- `dumpling_mock_factory(**options)` -> MockServer: as many fresh mocks as the test wants, each
  with its own options; all stopped after the test.
- `dumpling_mock_contracts` (session): the parsed and compiled contracts of this run, one per
  (contract, overlay), shared by every mock of the run. Under pytest-xdist each worker process
  has its own (and its own mocks, on their own ports).

A bad option fails the test with the CLI's one-line message. This module imports nothing heavy:
the app loads with the first mock a test asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mock_server.testing.server import CompiledContract, MockServer

MARKER = "dumpling_mock"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): options of the dumpling_mock fixture (keys, handles, seed, rate_limit, page_size, ...)",
    )


class ContractCache:
    """One CompiledContract per (contract, overlay, validation) for the whole run."""

    def __init__(self) -> None:
        self._compiled: dict[tuple[str | None, str | None, str], CompiledContract] = {}

    def get(
        self, contract: str | Path | None = None, overlay: str | Path | None = None, validation: str = "documented"
    ) -> CompiledContract:
        from mock_server.testing.server import compile_contract

        key = (
            str(contract) if contract is not None else None,
            str(overlay) if overlay is not None else None,
            validation,
        )
        if key not in self._compiled:
            self._compiled[key] = compile_contract(contract, overlay, validation)
        return self._compiled[key]


@pytest.fixture(scope="session")
def dumpling_mock_contracts() -> ContractCache:
    """The contracts of this run, parsed and compiled once (session scope)."""
    return ContractCache()


@pytest.fixture
def dumpling_mock_factory(dumpling_mock_contracts: ContractCache) -> Iterator[Callable[..., MockServer]]:
    """`dumpling_mock_factory(**options)` -> a started MockServer; every one is stopped after the test.

    def test_low_credits(dumpling_mock_factory):
        mock = dumpling_mock_factory(keys={"sk_test": 5})
        ...
    """
    from mock_server.exceptions import SettingsError
    from mock_server.testing.server import MockServer, settings_for

    started: list[MockServer] = []

    def make(**options: Any) -> MockServer:
        __tracebackhide__ = True
        try:
            effective = settings_for(options)  # a config file may name the contract too
            compiled = dumpling_mock_contracts.get(effective.contract, effective.overlay, effective.validation)
            mock = MockServer(compiled=compiled, **options)
        except SettingsError as exc:
            pytest.fail(f"dumpling_mock: {exc}", pytrace=False)
        started.append(mock.start())
        return mock

    yield make
    for mock in started:
        mock.stop()


@pytest.fixture
def dumpling_mock(request: pytest.FixtureRequest, dumpling_mock_factory: Callable[..., MockServer]) -> MockServer:
    """A fresh, started MockServer for this test; options from `@pytest.mark.dumpling_mock(...)`.

    @pytest.mark.dumpling_mock(keys={"sk_test": 30}, handles={"alice": 25})
    def test_pages(dumpling_mock):
        ...
    """
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None and marker.args:
        pytest.fail(f"@pytest.mark.{MARKER} takes keyword options only, e.g. keys={{'sk_test': 30}}", pytrace=False)
    return dumpling_mock_factory(**(marker.kwargs if marker is not None else {}))
