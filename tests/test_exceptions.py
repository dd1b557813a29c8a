"""One exception hierarchy (mock_server/exceptions.py): every error raised on purpose derives from
DumplingMockError and keeps its old built-in base, the tree in the docstring names every class,
and the CLI turns any of them into one line and exit code 2."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import mock_server
from mock_server import exceptions
from mock_server.cli.main import main as cli_main
from mock_server.contract.document import load_contract
from mock_server.exceptions import ContractError, DumplingMockError, OverlayError, SettingsError

REPO = Path(__file__).resolve().parents[1]

BUILTIN_BASE = {  # what each was before the hierarchy: `except ValueError` callers must still catch them
    "SettingsError": ValueError,
    "ContractError": ValueError,
    "OverlayError": ValueError,
    "PageError": ValueError,
    "StateError": RuntimeError,
    "FaultError": ValueError,
    "HarError": ValueError,
    "QueryError": ValueError,
    "BadJson": ValueError,
    "InvalidCursor": ValueError,
    "UnknownExample": LookupError,
    "CannotListen": RuntimeError,
    "ClientCheckError": AssertionError,
    "BodyTooLarge": Exception,
}


def test_every_error_derives_from_the_base_and_keeps_its_builtin_base() -> None:
    classes = {name: getattr(exceptions, name) for name in exceptions.__all__}
    assert set(classes) == {*BUILTIN_BASE, "DumplingMockError"}
    for name, base in BUILTIN_BASE.items():
        assert issubclass(classes[name], DumplingMockError), name
        assert issubclass(classes[name], base), name
    assert issubclass(OverlayError, ContractError) and issubclass(exceptions.PageError, ContractError)


def test_the_docstring_tree_names_every_class_once() -> None:
    tree = [
        line.split()[1] if line.split()[0] in ("├──", "└──", "│") else line.split()[0]
        for line in inspect.getdoc(exceptions).splitlines()
        if "──" in line or line.strip() == "DumplingMockError"
    ]
    named = [
        word for line in inspect.getdoc(exceptions).splitlines() for word in line.split() if word in exceptions.__all__
    ]
    assert sorted(set(named)) == sorted(exceptions.__all__)
    assert tree  # the tree is drawn


def test_no_module_defines_an_exception_outside_exceptions_py() -> None:
    """The hierarchy stays in one place: no `class X(...Error)` elsewhere in mock_server."""
    elsewhere = []
    for path in (REPO / "mock_server").rglob("*.py"):
        if path.name == "exceptions.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = {ast.unparse(b) for b in node.bases}
                if any(b.endswith(("Error", "Exception")) for b in bases):
                    elsewhere.append(f"{path.relative_to(REPO)}:{node.name}")
    assert elsewhere == []


def test_the_public_base_class_is_exported() -> None:
    assert mock_server.DumplingMockError is DumplingMockError
    assert mock_server.SettingsError is SettingsError


def test_a_missing_overlay_names_its_path_once(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-overlay.yaml"
    with pytest.raises(ContractError) as caught:
        load_contract(overlay=missing)
    assert str(caught.value).count(str(missing)) == 1, str(caught.value)
    assert str(caught.value).startswith(f"{missing}: cannot read")


def test_a_broken_overlay_is_an_overlay_error_naming_its_path(tmp_path: Path) -> None:
    overlay = tmp_path / "bad.overlay.yaml"
    overlay.write_text(
        "overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: $.nothing.here\n    update: {}\n"
    )
    with pytest.raises(OverlayError) as caught:
        load_contract(overlay=overlay)
    assert str(caught.value) == f"{overlay}: action 1: target $.nothing.here selects nothing"


def test_the_cli_turns_any_error_of_the_tree_into_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-overlay.yaml"
    assert cli_main(["contract", "--overlay", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dumpling-mock: error: ") and "Traceback" not in err
    assert err.count(str(missing)) == 1
