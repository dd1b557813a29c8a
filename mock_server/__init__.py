"""dumpling-mock: an offline twin of DumplingAI's get-tiktok-profile-videos, built from its contract.

The public API is `__all__` (pinned by tests/testing/test_public_api.py). The names other than
`__version__` load on first use, so that the CLI and the server processes do not import the
testing API (and the testing API does not import them until a mock is made).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    # The installed distribution's version, which setuptools-scm took from the git tag at build time.
    __version__ = version("dumpling-mock")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
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

_LAZY = {
    "ClientCheckError": "mock_server.exceptions",
    "DumplingMockError": "mock_server.exceptions",
    "ClientFinding": "mock_server.testing.server",
    "CompiledContract": "mock_server.testing.server",
    "JournalEntry": "mock_server.journal.entry",
    "MockServer": "mock_server.testing.server",
    "compile_contract": "mock_server.testing.server",
    "SettingsError": "mock_server.exceptions",
}


def __getattr__(name: str) -> Any:
    """PEP 562: `from mock_server import MockServer` imports the testing API on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mock_server' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
