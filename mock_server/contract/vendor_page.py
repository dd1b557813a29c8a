"""Read one side of a contract diff: a saved vendor documentation page, or a bare OpenAPI YAML.

The vendor publishes the endpoint as one page: prose (the error messages, the credit cost) and, in
a fenced code block, its OpenAPI YAML. `openapi/vendor-page.md` keeps that page verbatim and
`openapi/vendor.yaml` is its YAML block byte for byte, so a new page is read the same way here.
The page is served as Markdown (URL + `.md`) and as HTML; the HTML is turned into the same
Markdown shape (headings, code blocks, list items) before it is read.
"""

from __future__ import annotations

import html.parser
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from mock_server.contract.document import build_contract, bundled_path
from mock_server.exceptions import PageError

BUNDLED = "bundled"  # the page shipped with this package (openapi/vendor-page.md)
PAGE_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".mdx": "markdown", ".html": "html", ".htm": "html"}
YAML_SUFFIXES = (".yaml", ".yml", ".json")

_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.S | re.M)
_HEADING = re.compile(r"^(#{1,6})[ \t]+([^\n]*)$", re.M)
_STATUS_HEADING = re.compile(r"(\d{3})\b")
_ERROR_FIELD = re.compile(r'"error"\s*:\s*("(?:[^"\\]|\\.)*")')
_LISTED = re.compile(r"Possible error messages:?[ \t]*\n((?:\s*[*+-][ \t]+[^\n]*\n?)+)", re.I)
_BULLET = re.compile(r"^[ \t]*[*+-][ \t]+`?([^`\n]+?)`?[ \t]*$", re.M)
_CREDIT_COST = re.compile(r"costs\s+\**\s*(\d+)\s+credits?\b", re.I)


@dataclass(frozen=True)
class Source:
    """What the diff compares from one side: the YAML and, for a page, what its prose documents."""

    label: str  # the path as the user gave it, or "bundled"
    kind: str  # "markdown page", "html page" or "yaml"
    text: str  # the file's text, verbatim
    yaml_text: str  # the OpenAPI YAML (for a page: its code block, byte for byte)
    document: dict[str, Any]
    messages: dict[int, tuple[str, ...]] | None  # documented error messages by status; None: none documented
    credit_cost: int | None  # credits per successful request; None: not stated

    @property
    def is_page(self) -> bool:
        return self.kind != "yaml"

    def summary(self) -> str:
        """One line saying what was read, for the report's header."""
        ops = build_contract(self.document).operations
        parts = [f"{self.kind}", f"OpenAPI {self.document.get('openapi')}", _plural(len(ops), "operation")]
        if self.messages is not None:
            count = sum(len(m) for m in self.messages.values())
            parts.append(f"{_plural(count, 'error message')} under {_plural(len(self.messages), 'status', 'es')}")
        if self.credit_cost is not None:
            parts.append(f"{self.credit_cost} credits per call")
        return ", ".join(parts)


def _plural(count: int, noun: str, suffix: str = "s") -> str:
    return f"{count} {noun}" + ("" if count == 1 else suffix)


def load_source(spec: str) -> Source:
    """Read `spec` (a path, or `bundled`) as a page (.md/.html) or a bare YAML (.yaml/.yml/.json)."""
    path = bundled_path("vendor-page.md") if spec == BUNDLED else Path(spec)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise PageError(f"{spec}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise PageError(f"{spec}: not UTF-8 text") from None
    kind = _kind(path, text)
    if kind == "yaml":
        document = _parse_yaml(spec, text)
        contract = build_contract(document)
        messages = {s: tuple(m) for s, m in contract.error_messages.items()} or None
        costs = {op.credit_cost for op in contract.operations if "x-credit-cost" in op.raw}
        return Source(spec, kind, text, text, document, messages, costs.pop() if len(costs) == 1 else None)
    lines = re.sub(r"\r\n?", "\n", text)  # read with LF line ends; the page itself is kept as it came
    markdown = html_to_markdown(lines) if kind == "html page" else lines
    yaml_text = page_yaml(markdown)
    if yaml_text is None:
        raise PageError(f"{spec}: no OpenAPI YAML code block in the page (the vendor serves it in the page's .md form)")
    document = _parse_yaml(spec, yaml_text)
    build_contract(document)  # an OpenAPI 3.x document, or a one-line error now
    return Source(spec, kind, text, yaml_text, document, page_messages(markdown), page_credit_cost(markdown))


def page_yaml(markdown: str) -> str | None:
    """The first fenced YAML block that is an OpenAPI document, verbatim (with its final newline)."""
    for block in _FENCE.finditer(markdown):
        if not block.group("info").lower().startswith(("yaml", "yml")):
            continue
        try:
            data = yaml.safe_load(block.group("body"))
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and "openapi" in data:
            return block.group("body")
    return None


def page_messages(markdown: str) -> dict[int, tuple[str, ...]]:
    """Per error status (a `#### 4xx/5xx ...` heading): its example body's `error`, then the listed messages."""
    catalog: dict[int, tuple[str, ...]] = {}
    headings = list(_HEADING.finditer(_without_code_blocks(markdown)))
    for heading, following in zip(headings, headings[1:] + [None], strict=True):
        status = _STATUS_HEADING.match(heading.group(2).strip())
        if not status or int(status.group(1)) < 400:
            continue
        body = markdown[heading.end() : following.start() if following else len(markdown)]
        found: list[str] = []
        example = _ERROR_FIELD.search(body)
        if example:
            found.append(orjson.loads(example.group(1)))
        listed = _LISTED.search(body)
        if listed:
            found += [m.strip() for m in _BULLET.findall(listed.group(1))]
        catalog[int(status.group(1))] = tuple(dict.fromkeys(found))
    return catalog


def page_credit_cost(markdown: str) -> int | None:
    """The prose's "costs **N credits** per successful request", or None when the page does not say."""
    match = _CREDIT_COST.search(_without_code_blocks(markdown, keep_json=False))
    return int(match.group(1)) if match else None


def _without_code_blocks(markdown: str, keep_json: bool = True) -> str:
    """Blank out fenced blocks (same length, so offsets still match), except JSON examples if asked."""

    def blank(block: re.Match[str]) -> str:
        if keep_json and block.group("info").lower().startswith("json"):
            return block.group(0)
        return re.sub(r"[^\n]", " ", block.group(0))

    return _FENCE.sub(blank, markdown)


def _kind(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in PAGE_SUFFIXES:
        return f"{PAGE_SUFFIXES[suffix]} page"
    if suffix in YAML_SUFFIXES:
        return "yaml"
    head = text.lstrip()[:200].lower()
    if head.startswith(("<!doctype html", "<html")):
        return "html page"
    return "yaml" if re.match(r"(openapi|\{)", head) else "markdown page"


def _parse_yaml(spec: str, text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PageError(f"{spec}: not valid YAML" + (f" at line {mark.line + 1}" if mark else "")) from None
    if not isinstance(data, dict):
        raise PageError(f"{spec}: expected an OpenAPI document (a mapping) at the top level")
    return data


class _MarkdownOfHtml(html.parser.HTMLParser):
    """Just enough Markdown from a rendered page: headings, fenced code, list items, inline code."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.pre: list[str] | None = None
        self.lang = ""
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = " ".join(v or "" for k, v in attrs if k in ("class", "data-language", "language"))
        if tag in ("script", "style", "template"):
            self.skip += 1
        elif self.pre is not None:
            self.lang = self.lang or _language(classes)
            if tag == "span" and "line" in classes.split() and self.pre and not self.pre[-1].endswith("\n"):
                self.pre.append("\n")  # highlighters that draw each line as a block, with no newline between
        elif tag == "pre":
            self.pre, self.lang = [], _language(classes)
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "li":
            self.out.append("\n* ")
        elif tag == "code":
            self.out.append("`")
        elif tag == "br":
            self.out.append("\n")
        elif tag in ("p", "div", "section", "ul", "ol", "table", "tr"):
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template"):
            self.skip = max(0, self.skip - 1)
        elif tag == "pre" and self.pre is not None:
            code = "".join(self.pre)
            code += "" if code.endswith("\n") else "\n"
            lang = self.lang or (
                "yaml" if code.lstrip().startswith("openapi:") else "json" if code.lstrip().startswith("{") else ""
            )
            fence = "````" if "```" in code else "```"
            self.out.append(f"\n\n{fence}{lang}\n{code}{fence}\n\n")
            self.pre = None
        elif self.pre is None and tag == "code":
            self.out.append("`")
        elif self.pre is None and (re.fullmatch(r"h[1-6]", tag) or tag in ("p", "li", "div")):
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre is not None:
            self.pre.append(data)
        else:
            self.out.append(re.sub(r"\s+", " ", data))


def _language(classes: str) -> str:
    match = re.search(r"(?:language|lang)-(\w+)", classes)
    return match.group(1).lower() if match else ""


def html_to_markdown(text: str) -> str:
    parser = _MarkdownOfHtml()
    parser.feed(text)
    parser.close()
    return re.sub(r"[ \t]*\n[ \t]*(?=\n)", "\n", "".join(parser.out))
