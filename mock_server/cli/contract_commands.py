"""`dumpling-mock contract diff OLD NEW` and `dumpling-mock contract update PAGE`.

`diff` compares two versions of the vendor's contract (pages or bare YAML) for a client and reads
the prose overlay against the new one. `update` is the maintainer's step when the vendor publishes
a new page: the same report against `openapi/vendor-page.md`, then (with `--write`) the new page
and its YAML block replace `vendor-page.md` and `vendor.yaml`. The overlay is never rewritten: what
the prose means is a person's call, so the report lists the actions to review instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from mock_server.contract.diff import Diff, diff
from mock_server.contract.diff_report import as_json, exit_code, markdown, plural
from mock_server.contract.document import bundled_path, read_yaml
from mock_server.contract.vendor_page import BUNDLED, load_source
from mock_server.exceptions import ContractError


def add_subcommands(contract: argparse.ArgumentParser) -> None:
    """`contract [show]` prints the effective contract (as before); `diff` and `update` are new."""
    commands = contract.add_subparsers(dest="contract_command", metavar="[show|diff|update]")
    show = commands.add_parser("show", help="print the effective contract (the default)")
    show.add_argument("--format", choices=("yaml", "json"), default=argparse.SUPPRESS)
    show.add_argument("--contract", default=argparse.SUPPRESS, help="vendor OpenAPI YAML (default: bundled)")
    show.add_argument("--overlay", default=argparse.SUPPRESS, help="OpenAPI Overlay (default: bundled)")

    compare = commands.add_parser(
        "diff",
        help="what changed between two versions of the vendor's contract, for a client (exit 1: breaking)",
        description="OLD and NEW: a saved documentation page (.md or .html) or an OpenAPI YAML; "
        f"`{BUNDLED}` is the page this package ships. Exit codes: 0 no breaking change, "
        "1 breaking change(s), 2 usage error.",
    )
    compare.add_argument("old", metavar="OLD")
    compare.add_argument("new", metavar="NEW")
    _report_options(compare, "the overlay to read against NEW (default: the bundled prose overlay)")
    compare.add_argument("--no-overlay", action="store_true", help="skip the overlay's actions")

    update = commands.add_parser(
        "update",
        help="diff a newly saved vendor page against openapi/vendor-page.md; --write replaces it and vendor.yaml",
        description="Exit codes as for `contract diff`; the files are written (with --write) either way.",
    )
    update.add_argument("page", metavar="PAGE", help="the vendor's page, saved as Markdown (its URL + .md) or HTML")
    update.add_argument("--dir", default="openapi", help="the contract folder to update (default: openapi)")
    _report_options(update, "the overlay to read against the new page (default: DIR/prose.overlay.yaml)")
    update.add_argument(
        "--write", action="store_true", help="replace DIR/vendor-page.md and DIR/vendor.yaml (never the overlay)"
    )


def _report_options(parser: argparse.ArgumentParser, overlay_help: str) -> None:
    parser.add_argument("--format", dest="report_format", choices=("markdown", "json"), default="markdown")
    parser.add_argument("--overlay", dest="diff_overlay", metavar="PATH", help=overlay_help)


def run(args: argparse.Namespace) -> int:
    try:
        return run_update(args) if args.contract_command == "update" else run_diff(args)
    except ContractError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as exc:  # a document of an unexpected shape
        raise ContractError(f"not an OpenAPI document this tool can compare ({type(exc).__name__}: {exc})") from None


def run_diff(args: argparse.Namespace) -> int:
    old, new = load_source(args.old), load_source(args.new)
    overlay_path: Path | None = None
    if not args.no_overlay:
        overlay_path = Path(args.diff_overlay) if args.diff_overlay else bundled_path("prose.overlay.yaml")
    result = diff(old, new, *_overlay(overlay_path, args.diff_overlay))
    _print(result, args.report_format)
    return exit_code(result)


def run_update(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    page_path, yaml_path = directory / "vendor-page.md", directory / "vendor.yaml"
    if not page_path.is_file():
        raise ContractError(f"{page_path}: not found (run from the project's folder, or pass --dir)")
    old, new = load_source(str(page_path)), load_source(args.page)
    if not new.is_page:
        raise ContractError(
            f"{args.page}: `update` takes the vendor's documentation page (.md or .html), not a bare YAML"
        )
    if args.write and new.kind != "markdown page":
        raise ContractError(
            f"{args.page}: --write keeps the page verbatim as Markdown; save the page's .md form (its URL + .md)"
        )
    overlay_path = Path(args.diff_overlay) if args.diff_overlay else directory / "prose.overlay.yaml"
    result = diff(old, new, *_overlay(overlay_path, str(overlay_path)))
    _print(result, args.report_format)
    if args.write:
        _replace(page_path, new.text)
        _replace(yaml_path, new.yaml_text)
        print(
            f"dumpling-mock: wrote {page_path} and {yaml_path}; {overlay_path} is left as it is"
            f" ({plural(len(result.overlay), 'overlay finding')} above)",
            file=sys.stderr,
        )
    else:
        print(f"dumpling-mock: nothing written; --write replaces {page_path} and {yaml_path}", file=sys.stderr)
    return exit_code(result)


def _overlay(path: Path | None, label: str | None) -> tuple[dict[str, Any] | None, str | None]:
    if path is None:
        return None, None
    document = read_yaml(path)
    if not str(document.get("overlay", "")).startswith("1."):
        raise ContractError(f"{path}: not an OpenAPI Overlay 1.x document (missing 'overlay: 1.0.0')")
    return document, label or "openapi/prose.overlay.yaml"


def _print(result: Diff, report_format: str) -> None:
    if report_format == "json":
        sys.stdout.buffer.write(as_json(result))
        sys.stdout.flush()
    else:
        sys.stdout.write(markdown(result))


def _replace(path: Path, text: str) -> None:
    """Write next to the file, then rename: a crash never leaves half a contract behind."""
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_bytes(text.encode("utf-8"))
    os.replace(scratch, path)
