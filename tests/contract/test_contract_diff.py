"""`dumpling-mock contract diff` / `contract update`, and the docs-page drift recipes.

Every variant is the bundled vendor page (openapi/vendor-page.md) with one hand-made edit, the kind
of change a vendor makes; each must get exactly the classification written here.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import ROOT
from markdown_it import MarkdownIt

from mock_server.cli.main import main
from mock_server.contract.diff import BREAKING, NON_BREAKING, RULES, diff, diff_documents
from mock_server.contract.document import load_contract
from mock_server.contract.vendor_page import load_source

OPENAPI = ROOT / "openapi"
PAGE = (OPENAPI / "vendor-page.md").read_text(encoding="utf-8")
OP = "POST /api/v1/get-tiktok-profile-videos"
POST = "$.paths['/api/v1/get-tiktok-profile-videos'].post"

ERROR_RESPONSE_502 = """          description: Upstream video service returned an error.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/ErrorResponse'
"""
RESPONSE_503 = """        '503':
          description: Rate limit exceeded with an upstream service.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/ErrorResponse'
"""
RESPONSE_404 = """        '404':
          description: Videos not found for the provided handle.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/ErrorResponse'
"""
REQUEST_SOURCE = "        requestSource:\n          $ref: '#/components/schemas/RequestSource'\n"

# name -> (edits to the page, changes (code, where, old, new), overlay findings (code, action, target))
VARIANTS: dict[str, tuple[list[tuple[str, str]], list[tuple], list[tuple]]] = {
    "field retyped": (
        [("has_more:\n          type: integer", "has_more:\n          type: string")],
        [("response-property-type-changed", f"{OP} 200 response body `has_more`", "integer", "string")],
        [],
    ),
    "error message reworded": (
        [("* `The video service reported an issue.`", "* `The video service reported a problem.`")],
        [
            (
                "error-message-changed",
                "400 error message",
                "The video service reported an issue.",
                "The video service reported a problem.",
            )
        ],
        [("overlay-contradicts-page", 7, "400 error messages"), ("overlay-contradicts-page", 7, "400 error messages")],
    ),
    "status removed": (
        [(RESPONSE_404, "")],
        [("response-status-removed", f"{OP} 404", None, None)],
        # The overlay's 404 action selects nothing now, and the page's prose still documents a 404.
        [
            ("overlay-target-missing", 10, f"{POST}.responses['404']"),
            ("overlay-contradicts-page", 10, "404 error messages"),
        ],
    ),
    "503 added to the YAML": (
        [(ERROR_RESPONSE_502, ERROR_RESPONSE_502 + RESPONSE_503)],
        [("response-status-added", f"{OP} 503", None, None)],
        [("overlay-overlaps-yaml", 13, f"{POST}.responses['503']")],
    ),
    "new optional request field": (
        [(REQUEST_SOURCE, REQUEST_SOURCE + "        region:\n          type: string\n")],
        [("new-optional-request-property", f"{OP} request body `region`", None, "string")],
        [],
    ),
    "credit cost changed": (
        [("costs **10 credits**", "costs **20 credits**")],
        [("credit-cost-changed", "credits per successful request", 10, 20)],
        [("overlay-contradicts-page", 15, "credit cost")],
    ),
    "response field removed": (
        [("        min_cursor:\n          type: string\n          nullable: true\n", "")],
        [("response-property-removed", f"{OP} 200 response body `min_cursor`", "string", None)],
        [],
    ),
    "request enum value removed": (
        [("        - ZAPIER\n", "")],
        [("request-property-enum-value-removed", f"{OP} request body `requestSource`", ["ZAPIER"], None)],
        [],
    ),
    "request field became required": (
        [("      required:\n        - handle\n", "      required:\n        - handle\n        - trim\n")],
        [("request-property-became-required", f"{OP} request body `trim`", None, None)],
        [],
    ),
    "response enum value added, nested field added": (
        [
            ("        - STUDIO\n", "        - STUDIO\n        - MOBILE\n"),
            (
                "        aweme_id:\n          type: string\n",
                "        aweme_id:\n          type: string\n        region:\n          type: string\n",
            ),
        ],
        [
            ("request-property-enum-value-added", f"{OP} request body `requestSource`", None, ["MOBILE"]),
            ("response-property-added", f"{OP} 200 response body `aweme_list[].region`", None, "string"),
        ],
        [],
    ),
}


def edited(edits: list[tuple[str, str]], text: str = PAGE) -> str:
    for old, new in edits:
        assert text.count(old) == 1, f"the edit must match the page exactly once: {old!r}"
        text = text.replace(old, new)
    return text


def write_variant(tmp_path: Path, name: str, suffix: str = ".md") -> Path:
    path = tmp_path / (re.sub(r"\W+", "-", name) + suffix)
    text = edited(VARIANTS[name][0])
    path.write_text(as_html(text) if suffix == ".html" else text, encoding="utf-8")
    return path


def as_html(markdown: str) -> str:
    """The page as a browser gets it: rendered by a CommonMark renderer, not by the code under test."""
    return f"<!doctype html><html><body><main>{MarkdownIt('commonmark').render(markdown)}</main></body></html>"


def bundled_overlay() -> dict:
    return yaml.safe_load((OPENAPI / "prose.overlay.yaml").read_text(encoding="utf-8"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["contract", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- classification -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", VARIANTS)
def test_each_variant_gets_exactly_its_classification(tmp_path: Path, name: str) -> None:
    _, changes, overlay = VARIANTS[name]
    result = diff(load_source("bundled"), load_source(str(write_variant(tmp_path, name))), bundled_overlay(), "overlay")
    assert [(c.code, c.where, c.old, c.new) for c in result.changes] == changes
    assert [(f.code, f.action, f.target) for f in result.overlay] == overlay
    assert result.notes == []


@pytest.mark.parametrize("name", VARIANTS)
def test_exit_code_is_1_exactly_when_a_change_is_breaking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    breaking = any(RULES[code][0] == BREAKING for code, *_ in VARIANTS[name][1])
    code, out, _ = run(capsys, "diff", "bundled", str(write_variant(tmp_path, name)))
    assert code == (1 if breaking else 0)
    assert out.startswith("# Contract diff report\n")
    assert f"(exit code {code})" in out.splitlines()[2]


def test_the_classes_of_the_issue() -> None:
    breaking = {
        "response-property-removed",
        "response-property-type-changed",
        "response-property-enum-value-removed",
        "request-property-became-required",
        "new-required-request-property",
        "response-status-removed",
        "error-message-changed",
        "credit-cost-changed",
    }
    additions = {
        "response-property-added",
        "new-optional-request-property",
        "response-status-added",
        "error-message-added",
        "request-property-enum-value-added",
        "response-property-enum-value-added",
        "response-header-added",
    }
    assert {code for code in breaking if RULES[code][0] != BREAKING} == set()
    assert {code for code in additions if RULES[code][0] != NON_BREAKING} == set()


def test_the_bundled_page_against_itself_is_no_change(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", "bundled", str(OPENAPI / "vendor-page.md"))
    assert code == 0
    assert "- **Result:** NO CHANGE: the two contracts document the same API (exit code 0)" in out
    assert out.count("None.") == 2
    assert "None: every action applies to NEW as it did to OLD." in out


def test_the_vendor_documenting_the_503_differently_contradicts_the_overlay(tmp_path: Path) -> None:
    own = RESPONSE_503.replace("Rate limit exceeded with an upstream service.", "Too many requests.")
    new = tmp_path / "new.md"
    new.write_text(edited([(ERROR_RESPONSE_502, ERROR_RESPONSE_502 + own)]), encoding="utf-8")
    result = diff(load_source("bundled"), load_source(str(new)), bundled_overlay(), "overlay")
    (finding,) = result.overlay
    assert (finding.code, finding.action, finding.target) == (
        "overlay-contradicts-yaml",
        13,
        f"{POST}.responses['503']",
    )
    assert finding.detail == (
        "the vendor now documents `503` itself, differently: "
        "description: vendor 'Too many requests.', overlay 'Rate limit exceeded with an upstream service.'"
    )


def test_the_503_overlap_names_what_the_overlay_still_adds(tmp_path: Path) -> None:
    result = diff(
        load_source("bundled"),
        load_source(str(write_variant(tmp_path, "503 added to the YAML"))),
        bundled_overlay(),
        "o",
    )
    assert result.overlay[0].detail == (
        "the vendor now documents `503` itself; the same: `description`, `content.application/json.schema`; "
        "still only in the overlay: `headers`, `content.application/json.examples`"
    )


def test_a_removed_object_is_one_change_not_one_per_field(tmp_path: Path) -> None:
    new = tmp_path / "new.md"
    new.write_text(
        edited(
            [
                (
                    "        aweme_list:\n          type: array\n          items:\n"
                    "            $ref: '#/components/schemas/TikTokVideoSummary'\n",
                    "",
                )
            ]
        ),
        encoding="utf-8",
    )
    result = diff(load_source("bundled"), load_source(str(new)))
    assert [(c.code, c.where) for c in result.changes] == [
        ("response-property-removed", f"{OP} 200 response body `aweme_list`")
    ]


def test_an_action_may_target_what_an_earlier_action_added() -> None:
    """Actions apply in order: the second selects what the first adds, in OLD and NEW alike."""
    overlay = {
        "overlay": "1.0.0",
        "info": {"title": "t", "version": "1"},
        "actions": [
            {"target": "$.components", "update": {"headers": {"X-Trace": {"schema": {"type": "string"}}}}},
            {"target": "$.components.headers['X-Trace']", "update": {"description": "A trace id."}},
            {"target": "$.components.headers['X-Gone']", "update": {"description": "Nothing here."}},
        ],
    }
    result = diff(load_source("bundled"), load_source("bundled"), overlay, "overlay")
    read = [(f.code, f.action, f.detail) for f in result.overlay if f.code != "overlay-contradicts-page"]
    assert read == [("overlay-target-missing", 3, "selects nothing in NEW")]  # (this overlay has no error examples)


def test_json_report_has_the_same_classification(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "diff", "bundled", str(write_variant(tmp_path, "credit cost changed")), "--format", "json"
    )
    report = json.loads(out)
    assert code == 1 and report["exit_code"] == 1
    assert report["result"] == "BREAKING: 1 breaking change, 0 non-breaking changes, 1 overlay finding"
    assert report["changes"] == [
        {
            "code": "credit-cost-changed",
            "class": "breaking",
            "title": "credit cost changed",
            "where": "credits per successful request",
            "old": 10,
            "new": 20,
        }
    ]
    assert report["overlay_findings"] == [
        {
            "code": "overlay-contradicts-page",
            "action": 15,
            "target": "credit cost",
            "title": "the effective contract disagrees with the new page's prose",
            "detail": "the effective contract charges 10 credits per call; the page says 20",
        }
    ]


def test_no_overlay_skips_the_overlay_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", "bundled", str(write_variant(tmp_path, "status removed")), "--no-overlay")
    assert code == 1
    assert "- **Overlay:** none" in out and "## Overlay findings" not in out
    assert "- **Result:** BREAKING: 1 breaking change, 0 non-breaking changes, 0 overlay findings (exit code 1)" in out


def test_a_bare_yaml_compares_the_yaml_and_says_what_it_could_not(tmp_path: Path) -> None:
    retyped = tmp_path / "vendor.yaml"
    retyped.write_text(
        (OPENAPI / "vendor.yaml")
        .read_text(encoding="utf-8")
        .replace("has_more:\n          type: integer", "has_more:\n          type: boolean"),
        encoding="utf-8",
    )
    result = diff(load_source(str(OPENAPI / "vendor.yaml")), load_source(str(retyped)))
    assert [(c.code, c.old, c.new) for c in result.changes] == [
        ("response-property-type-changed", "integer", "boolean")
    ]
    assert result.notes == ["error messages not compared: OLD documents none (a bare YAML without error examples)"]


def status_api(status_schema: dict, required: list[str]) -> dict:
    """A small OpenAPI document whose 200 body is {status, checked_at}: for what the vendor's YAML lacks (a response enum)."""
    body = {
        "type": "object",
        "required": required,
        "properties": {"status": status_schema, "checked_at": {"type": "string"}},
    }
    ok = {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "components": {"schemas": {"Status": body}},
        "paths": {"/status": {"get": {"responses": {"200": ok}}}},
    }


def test_response_enum_nullability_and_presence_are_judged_from_the_client_side() -> None:
    old = status_api({"type": "string", "enum": ["ok", "degraded"]}, ["status", "checked_at"])
    new = status_api({"type": "string", "enum": ["ok", "down"], "nullable": True}, ["status"])
    where = "GET /status 200 response body"
    assert [(c.code, c.kind, c.where, c.old, c.new) for c in diff_documents(old, new)] == [
        ("response-property-became-nullable", BREAKING, f"{where} `status`", None, None),
        ("response-property-enum-value-removed", BREAKING, f"{where} `status`", ["degraded"], None),
        ("response-property-enum-value-added", NON_BREAKING, f"{where} `status`", None, ["down"]),
        ("response-property-became-optional", BREAKING, f"{where} `checked_at`", None, None),
    ]
    assert [(c.code, c.kind) for c in diff_documents(new, old)] == [
        ("response-property-no-longer-nullable", NON_BREAKING),
        ("response-property-enum-value-removed", BREAKING),
        ("response-property-enum-value-added", NON_BREAKING),
        ("response-property-became-required", NON_BREAKING),
    ]


@pytest.mark.parametrize(
    ("direction_schema", "before", "after", "code", "kind"),
    [
        ("request", "string", ["string", "integer"], "request-property-type-widened", NON_BREAKING),
        ("request", "number", "integer", "request-property-type-changed", BREAKING),
        ("response", ["string", "integer"], "string", "response-property-type-narrowed", NON_BREAKING),
        ("response", "integer", "number", "response-property-type-changed", BREAKING),
        ("response", "integer", ["integer", "null"], "response-property-became-nullable", BREAKING),
    ],
)
def test_a_type_change_is_breaking_unless_it_widens_what_is_sent_or_narrows_what_is_read(
    direction_schema: str, before: object, after: object, code: str, kind: str
) -> None:
    def document(field_type: object) -> dict:
        schema = {"type": "object", "properties": {"n": {"type": field_type}}}
        media = {"content": {"application/json": {"schema": schema}}}
        operation = {"requestBody": media, "responses": {"200": {"description": "ok"}}}
        if direction_schema == "response":
            operation = {"responses": {"200": {"description": "ok", **media}}}
        return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/n": {"post": operation}}}

    assert [(c.code, c.kind) for c in diff_documents(document(before), document(after))] == [(code, kind)]


# --- the page as HTML -----------------------------------------------------------------------------
def test_the_html_page_reads_the_same_as_the_markdown_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "page.html"
    page.write_text(as_html(PAGE), encoding="utf-8")
    source, bundled = load_source(str(page)), load_source("bundled")
    assert (source.document, source.messages, source.credit_cost) == (
        bundled.document,
        bundled.messages,
        bundled.credit_cost,
    )
    code, out, _ = run(capsys, "diff", "bundled", str(page))
    assert code == 0 and "NO CHANGE" in out


def test_a_page_saved_with_crlf_line_ends_reads_the_same(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_bytes(PAGE.replace("\n", "\r\n").encode("utf-8"))
    source, bundled = load_source(str(page)), load_source("bundled")
    assert (source.document, source.messages, source.credit_cost) == (
        bundled.document,
        bundled.messages,
        bundled.credit_cost,
    )
    assert source.text == PAGE.replace("\n", "\r\n")  # kept as it came, for `update --write`


@pytest.mark.parametrize("name", ["field retyped", "error message reworded", "credit cost changed"])
def test_html_variants_get_the_same_classification(tmp_path: Path, name: str) -> None:
    result = diff(
        load_source("bundled"), load_source(str(write_variant(tmp_path, name, ".html"))), bundled_overlay(), "o"
    )
    assert [(c.code, c.where, c.old, c.new) for c in result.changes] == VARIANTS[name][1]


# --- usage errors ---------------------------------------------------------------------------------
def test_usage_errors_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    no_yaml = tmp_path / "no-yaml.md"
    no_yaml.write_text(PAGE.split("## OpenAPI")[0], encoding="utf-8")
    not_openapi = tmp_path / "other.yaml"
    not_openapi.write_text("a: 1\n", encoding="utf-8")
    cases = {
        ("diff", "bundled", str(tmp_path / "missing.md")): f"{tmp_path / 'missing.md'}: cannot read",
        ("diff", "bundled", str(no_yaml)): f"{no_yaml}: no OpenAPI YAML code block in the page",
        ("diff", str(not_openapi), "bundled"): "only OpenAPI 3.x documents are supported",
        (
            "diff",
            "bundled",
            "bundled",
            "--overlay",
            str(OPENAPI / "vendor.yaml"),
        ): "not an OpenAPI Overlay 1.x document",
    }
    for argv, message in cases.items():
        code, out, err = run(capsys, *argv)
        assert code == 2, argv
        assert out == ""
        assert err.startswith("dumpling-mock: error: ") and message in err and err.count("\n") == 1, err
    with pytest.raises(SystemExit) as exited:
        main(["contract", "diff", "bundled"])
    assert exited.value.code == 2


def test_contract_without_a_subcommand_still_prints_the_effective_contract(capsys: pytest.CaptureFixture[str]) -> None:
    effective = load_contract().document
    for argv in ([], ["--format", "json"], ["show"], ["show", "--format", "json"]):
        code, out, _ = run(capsys, *argv)
        assert code == 0
        assert (json.loads(out) if "json" in argv else yaml.safe_load(out)) == effective, argv


# --- contract update ------------------------------------------------------------------------------
@pytest.fixture
def contract_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "openapi"
    shutil.copytree(OPENAPI, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return copy


def page_yaml_block(text: str) -> bytes:
    """Independent of the code under test: the page's ````yaml block, as test_contract_files reads it."""
    return re.search(r"^````yaml[^\n]*\n(.*?)^````", text, re.S | re.M).group(1).encode("utf-8")


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_update_round_trips_the_bundled_page_to_no_change(
    contract_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(contract_dir)
    code, out, err = run(capsys, "update", str(OPENAPI / "vendor-page.md"), "--dir", str(contract_dir), "--write")
    assert code == 0
    assert "NO CHANGE" in out and "None: every action applies to NEW as it did to OLD." in out
    assert snapshot(contract_dir) == before
    assert f"wrote {contract_dir / 'vendor-page.md'} and {contract_dir / 'vendor.yaml'}" in err


def test_update_without_write_changes_nothing(
    tmp_path: Path, contract_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(contract_dir)
    code, out, err = run(capsys, "update", str(write_variant(tmp_path, "field retyped")), "--dir", str(contract_dir))
    assert code == 1 and "`response-property-type-changed`" in out
    assert snapshot(contract_dir) == before
    assert "nothing written; --write replaces" in err


def test_update_write_replaces_the_page_and_the_yaml_and_leaves_the_overlay(
    tmp_path: Path, contract_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = write_variant(tmp_path, "new optional request field")
    overlay = (contract_dir / "prose.overlay.yaml").read_bytes()
    code, out, _ = run(capsys, "update", str(new), "--dir", str(contract_dir), "--write")
    assert code == 0 and "`new-optional-request-property`" in out
    assert (contract_dir / "vendor-page.md").read_bytes() == new.read_bytes()
    assert (contract_dir / "vendor.yaml").read_bytes() == page_yaml_block(new.read_text(encoding="utf-8"))
    assert (contract_dir / "prose.overlay.yaml").read_bytes() == overlay
    # The mock serves the new YAML with the old overlay: the new field is part of the contract.
    contract = load_contract(contract_dir / "vendor.yaml", contract_dir / "prose.overlay.yaml")
    assert contract.document["components"]["schemas"]["TikTokProfileVideosRequest"]["properties"]["region"] == {
        "type": "string"
    }


def test_update_writes_even_when_breaking_and_reports_what_no_longer_applies(
    tmp_path: Path, contract_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "update", str(write_variant(tmp_path, "status removed")), "--dir", str(contract_dir), "--write"
    )
    assert code == 1
    assert (
        "| 10 | `$.paths['/api/v1/get-tiktok-profile-videos'].post.responses['404']` | `overlay-target-missing`: selects nothing in NEW |"
        in out
    )
    assert b"'404'" not in (contract_dir / "vendor.yaml").read_bytes()


def test_update_refuses_what_it_cannot_keep_verbatim(
    tmp_path: Path, contract_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(contract_dir)
    html = write_variant(tmp_path, "field retyped", ".html")
    for argv, message in {
        ("update", str(html), "--dir", str(contract_dir), "--write"): "save the page's .md form",
        ("update", str(OPENAPI / "vendor.yaml"), "--dir", str(contract_dir)): "not a bare YAML",
        ("update", str(OPENAPI / "vendor-page.md"), "--dir", str(tmp_path / "nowhere")): "not found",
    }.items():
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "" and message in err, (argv, err)
    assert snapshot(contract_dir) == before


# --- the docs-page drift recipes ------------------------------------------------------------------
def page_url_host() -> str:
    """The documentation site, from the page's own header ('Fetch the complete documentation index at: ...')."""
    index = re.search(r"documentation index at: (\S+)", PAGE).group(1)
    return urlsplit(index).netloc


def test_github_docs_drift_workflow_downloads_the_page_and_fails_on_breaking_changes() -> None:
    workflow = yaml.safe_load((ROOT / "ci" / "github" / "docs-drift.yml").read_text(encoding="utf-8"))
    on = workflow.get("on", workflow.get(True))
    assert {"schedule", "workflow_dispatch"} <= set(on) and on["schedule"][0]["cron"]
    url = workflow["env"]["DUMPLING_DOCS_PAGE_URL"]
    assert urlsplit(url).netloc == page_url_host() and url.endswith("/get-tiktok-profile-videos.md")
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    script = "\n".join(s.get("run", "") for s in steps)
    assert re.search(r'curl --fail\b.*"\$DUMPLING_DOCS_PAGE_URL"', script)
    assert "python -m pip install --require-hashes --no-deps" in script  # the published release (issue 18)
    assert re.search(r"dumpling-mock contract diff bundled vendor-page\.md", script)
    assert "set -o pipefail" in script, "the diff's exit code, not tee's, decides the step"
    summary = [s for s in steps if "GITHUB_STEP_SUMMARY" in s.get("run", "")]
    assert summary and "always()" in str(summary[0]["if"]) and "docs-drift-report.md" in summary[0]["run"]
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert uploads and "always()" in str(uploads[0]["if"]) and "docs-drift-report.md" in uploads[0]["with"]["path"]


def test_gitlab_docs_drift_job_runs_on_schedules_only_and_keeps_the_report() -> None:
    ci = yaml.safe_load((ROOT / "ci" / "gitlab" / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    job = ci["docs-drift"]
    assert job["stage"] in ci["stages"]
    assert [r["if"] for r in job["rules"] if r.get("when") != "never"] == ['$CI_PIPELINE_SOURCE == "schedule"']
    url = job["variables"]["DUMPLING_DOCS_PAGE_URL"]
    assert urlsplit(url).netloc == page_url_host() and url.endswith("/get-tiktok-profile-videos.md")
    script = "\n".join(job["before_script"] + job["script"])
    assert "python -m pip install --require-hashes --no-deps" in script  # the published release (issue 18)
    assert re.search(r'curl --fail\b.*"\$DUMPLING_DOCS_PAGE_URL"', script)
    assert re.search(r"dumpling-mock contract diff bundled vendor-page\.md", script)
    assert job["artifacts"]["when"] == "always" and "docs-drift-report.md" in job["artifacts"]["paths"]


# --- the README's example report ------------------------------------------------------------------
README_EXAMPLE = ["field retyped", "error message reworded", "503 added to the YAML", "new optional request field"]


def test_the_readme_shows_the_report_the_tool_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("vendor-page-new.md").write_text(
        edited([e for name in README_EXAMPLE for e in VARIANTS[name][0]]), encoding="utf-8"
    )
    code, out, _ = run(capsys, "diff", "bundled", "vendor-page-new.md")
    assert code == 1
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"\$ dumpling-mock contract diff bundled vendor-page-new\.md\n(.*?)\n```\n", readme, re.S)
    assert block, "README: the example report of `contract diff` is missing"
    assert block.group(1).rstrip("\n") == out.rstrip("\n")


def test_the_bundled_page_ships_in_the_wheel() -> None:
    """`bundled` reads mock_server/openapi/vendor-page.md: the wheel must carry it, not only the YAML."""
    import fnmatch
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    patterns = config["package-data"]["mock_server.openapi"]
    assert config["package-dir"]["mock_server.openapi"] == "openapi"
    assert any(fnmatch.fnmatch("vendor-page.md", p) for p in patterns), patterns
