"""The contract kit: check any target against the effective contract.

The public API is `__all__` (pinned by tests/kit/test_kit_public_api.py): `main`, which runs the
kit exactly as `dumpling-contract ARGS` does and returns its exit code, and the exit codes.
Everything else in this package is internal. `main` loads on first use, so that importing the
package (pytest does, to collect `test_contract.py`) costs nothing.
"""

from __future__ import annotations

from typing import Any

from contract_tests.exit_codes import CONFORMANT, FINDINGS, INCOMPLETE, KEY_REJECTED, UNREACHABLE, USAGE

__all__ = ["CONFORMANT", "FINDINGS", "INCOMPLETE", "KEY_REJECTED", "UNREACHABLE", "USAGE", "main"]


def __getattr__(name: str) -> Any:
    """PEP 562: `from contract_tests import main` imports the CLI module on first use."""
    if name == "main":
        from contract_tests.cli import main

        return main
    raise AttributeError(f"module 'contract_tests' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
