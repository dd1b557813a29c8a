"""`drift-report.html`: the Markdown report as one self-contained HTML file (a CI artifact one can
open in a browser): the same text, rendered by markdown-it with raw HTML off (a target's body is
shown, never run), inline CSS, and a Content-Security-Policy that loads nothing from anywhere.
Keys are masked again with the project's one masking function before the file is written."""

from __future__ import annotations

from html import escape
from pathlib import Path

from markdown_it import MarkdownIt

from mock_server.server.secrets import mask_text

CSS = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em; color: #1b1b1b; }
h1 { border-bottom: 2px solid #ddd; } h2 { border-bottom: 1px solid #eee; margin-top: 2em; } h3 { margin-top: 1.5em; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
code { font: 13px ui-monospace, monospace; } table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: .3em .6em; }
td:nth-child(n+2) { text-align: right; }
"""
POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def render(markdown_text: str, title: str) -> str:
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown_text)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


def write(path: Path, markdown_text: str, title: str, secrets: list[str]) -> Path:
    path.write_text(mask_text(render(markdown_text, title), secrets), encoding="utf-8")
    return path
