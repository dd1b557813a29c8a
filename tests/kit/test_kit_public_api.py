"""The contract kit's public names (`from contract_tests import ...`), as a user's script or CI
step would use them: `main` is `dumpling-contract`, and the exit codes say what a run found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import contract_tests
from contract_tests import CONFORMANT, FINDINGS, INCOMPLETE, KEY_REJECTED, UNREACHABLE, USAGE, main

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "browser-export.har"


def test_the_public_names_are_pinned() -> None:
    assert contract_tests.__all__ == [
        "CONFORMANT",
        "FINDINGS",
        "INCOMPLETE",
        "KEY_REJECTED",
        "UNREACHABLE",
        "USAGE",
        "main",
    ]
    assert (CONFORMANT, FINDINGS, USAGE, KEY_REJECTED, INCOMPLETE, UNREACHABLE) == (0, 1, 2, 3, 4, 5)
    with pytest.raises(AttributeError):
        contract_tests.Budget  # noqa: B018 - internals are not re-exported


def test_main_is_the_command(tmp_path: Path) -> None:
    """Offline on a recording, so nothing is sent: the same exit code and reports as the CLI."""
    code = main(["--har", str(FIXTURE), "--reports-dir", str(tmp_path)])
    findings = json.loads((tmp_path / "findings.json").read_text(encoding="utf-8"))
    assert code == (FINDINGS if findings["findings"] else CONFORMANT)
    assert findings["requests"] == 0
    assert main(["--har", str(FIXTURE), "--base-url", "http://127.0.0.1:9"]) == USAGE
