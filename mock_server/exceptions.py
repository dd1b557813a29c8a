"""Every error dumpling-mock raises on purpose, in one place (httpx's `_exceptions.py`), so that a
caller can catch one base class and the CLI turns any of them into one line and exit code 2:

    DumplingMockError
    ├── SettingsError        a flag, environment variable or config value is wrong     (ValueError)
    ├── ContractError        a contract file is missing, unreadable or unusable        (ValueError)
    │   ├── OverlayError     the overlay is malformed or a target selects nothing
    │   └── PageError        a vendor page or YAML cannot be read for a contract diff
    ├── StateError           the state file cannot be opened or is not ours            (RuntimeError)
    ├── FaultError           a fault the mock cannot apply                             (ValueError)
    ├── HarError             a file that is not a readable HAR 1.x recording           (ValueError)
    ├── QueryError           a journal query parameter is unknown or out of range      (ValueError)
    ├── BadJson              a request body is not one strict JSON text                (ValueError)
    ├── InvalidCursor        maxCursor is not a cursor this API could have produced    (ValueError)
    ├── UnknownExample       Prefer or a reserved handle names an undocumented example (LookupError)
    ├── BodyTooLarge         a body over its cap (after decompression)
    ├── CannotListen         the address cannot be bound                               (RuntimeError)
    └── ClientCheckError     `MockServer.assert_clean` found violations                (AssertionError)

Each also derives from the built-in named on its right, as before the hierarchy existed, so code
that catches `ValueError` (or pytest, which reports `AssertionError` as a failure) is unchanged.
The modules that raise them import them from here; the public ones are re-exported by
`mock_server` (`SettingsError`, `ClientCheckError`, and the base class).
"""

from __future__ import annotations

__all__ = [
    "BadJson",
    "BodyTooLarge",
    "CannotListen",
    "ClientCheckError",
    "ContractError",
    "DumplingMockError",
    "FaultError",
    "HarError",
    "InvalidCursor",
    "OverlayError",
    "PageError",
    "QueryError",
    "SettingsError",
    "StateError",
    "UnknownExample",
]


class DumplingMockError(Exception):
    """The base of every error dumpling-mock raises on purpose."""


class SettingsError(DumplingMockError, ValueError):
    """One bad flag, environment variable or config value, in one line."""


class ContractError(DumplingMockError, ValueError):
    """A contract file is missing, unreadable or not the document it should be."""


class OverlayError(ContractError):
    """The overlay is malformed or one of its targets selects nothing."""


class PageError(ContractError):
    """A page or YAML file that cannot be read as one side of a contract diff."""


class StateError(DumplingMockError, RuntimeError):
    """The state file cannot be opened or is not a dumpling-mock state file."""


class FaultError(DumplingMockError, ValueError):
    """A fault the mock cannot apply: one line saying why (the admin API's 400, serve's exit 2)."""


class HarError(DumplingMockError, ValueError):
    """A file that is not a readable HAR 1.x, in one line naming the file."""


class QueryError(DumplingMockError, ValueError):
    """A query parameter the journal does not know, or a bad value (answered with a 400)."""


class BadJson(DumplingMockError, ValueError):
    """A body that is not one strict JSON text; the message says why, in a few words."""


class InvalidCursor(DumplingMockError, ValueError):
    """maxCursor is not a cursor this API could have produced."""


class UnknownExample(DumplingMockError, LookupError):
    """`Prefer` or a reserved handle asked for an example the contract does not have."""


class CannotListen(DumplingMockError, RuntimeError):
    """The address cannot be bound: in use, not permitted, or not an address of this machine."""


class ClientCheckError(DumplingMockError, AssertionError):
    """`assert_clean` found violations (or warnings, when asked): the message is the report."""


class BodyTooLarge(DumplingMockError):
    """The body (after decompression) is larger than the cap; `kept` holds its first `cap` bytes."""

    def __init__(self, cap: int, kept: bytes) -> None:
        super().__init__(f"response body larger than {cap} bytes (after decompression)")
        self.cap = cap
        self.kept = kept
