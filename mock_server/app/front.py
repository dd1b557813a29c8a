"""The front door: `GET /` says what this server is (a small HTML page for a browser, a JSON index
for a client), and `/docs` shows the effective contract in Swagger UI.

Swagger UI's files come from a Python package (swagger-ui-py) and are served from here: the docs
work offline, with no CDN, and Swagger UI's online spec validator is switched off.
"""

from __future__ import annotations

import html
import importlib.util
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from mock_server import __version__
from mock_server.data.tiktok import TIKTOK_OPERATION
from mock_server.pipeline.context import Context

SWAGGER_PACKAGE = "swagger_ui"  # swagger-ui-py: Swagger UI's distribution files, nothing fetched at run time
DOCS_ASSETS = "/docs/static"
LINKS = {
    "docs": "/docs",
    "openapi_json": "/openapi.json",
    "openapi_yaml": "/openapi.yaml",
    "admin_openapi_json": "/__admin/openapi.json",
    "health": "/__admin/health",
}


def swagger_ui_dir() -> Path:
    """Swagger UI's files inside the installed package, found without importing it."""
    spec = importlib.util.find_spec(SWAGGER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed (a dependency of dumpling-mock)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def example_curl(ctx: Context, base_url: str) -> str:
    """The request the banner prints (for another contract: its first operation), with the demo
    key when the demo keys are on, never a configured key."""
    key = (
        next((k.key for k in ctx.settings.keys if k.active), "YOUR_API_KEY")
        if not ctx.settings.api_keys
        else "YOUR_API_KEY"
    )
    ops = ctx.contract.operations
    op = next((o for o in ops if o.operation_id == TIKTOK_OPERATION), ops[0] if ops else None)
    if op is None:
        return ""
    if op.operation_id == TIKTOK_OPERATION:
        return (
            f"curl -X POST {base_url}{op.path} \\\n"
            f"  -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n"
            '  -d \'{ "handle": "stoolpresidente" }\''
        )
    parts = [f"curl -X {op.method} {base_url}{op.path}"]
    if op.secured:
        parts.append(f"-H 'Authorization: Bearer {key}'")
    if op.request_schema is not None:
        parts.append("-H 'Content-Type: application/json' -d '{}'")
    return " \\\n  ".join(parts)


def index(ctx: Context, base_url: str) -> dict[str, Any]:
    info = ctx.contract.document.get("info") or {}
    return {
        "name": "dumpling-mock",
        "version": __version__,
        "what": f"an offline mock of {info.get('title', 'the vendor API')}, served from its OpenAPI contract",
        "operations": [
            {"method": op.method, "path": op.path, "operationId": op.operation_id, "summary": op.raw.get("summary", "")}
            for op in ctx.contract.operations
        ],
        "example": example_curl(ctx, base_url),
        "links": LINKS,
    }


def wants_html(request: Request) -> bool:
    """A browser asks for text/html first; curl (`*/*`) and API clients get JSON."""
    accept = request.headers.get("accept", "").lower()
    return "text/html" in accept and not accept.lstrip().startswith("application/json")


def home_page(data: dict[str, Any]) -> str:
    rows = "".join(
        f"<li><code>{html.escape(op['method'])} {html.escape(op['path'])}</code> {html.escape(op['summary'])}</li>"
        for op in data["operations"]
    )
    links = "".join(f'<li><a href="{href}">{href}</a></li>' for href in LINKS.values())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>dumpling-mock</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}
pre{{background:#f4f4f4;padding:1rem;overflow-x:auto}}</style></head>
<body>
<h1>dumpling-mock {html.escape(data["version"])}</h1>
<p>This is {html.escape(data["what"])}: realistic, deterministic data, API keys, credits, rate limits and every documented error, with no real call and no credit spent.</p>
<h2>Try it</h2>
<pre>{html.escape(data["example"])}</pre>
<h2>Operations</h2>
<ul>{rows}</ul>
<h2>Links</h2>
<ul>{links}</ul>
<p>The <a href="/docs">docs</a> show the effective contract (the vendor's YAML plus what its page documents) in Swagger UI, served offline.</p>
</body></html>
"""


def docs_page(title: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} - docs</title>
<link rel="stylesheet" href="{DOCS_ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="{DOCS_ASSETS}/favicon-32x32.png" sizes="32x32"></head>
<body><div id="swagger-ui"></div>
<script src="{DOCS_ASSETS}/swagger-ui-bundle.js" charset="utf-8"></script>
<script>
window.onload = function () {{
  window.ui = SwaggerUIBundle({{
    url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
    validatorUrl: null  /* no call to an online validator: the docs work offline */
  }});
}};
</script></body></html>
"""


def front_routes(ctx: Context) -> list[BaseRoute]:
    title = str((ctx.contract.document.get("info") or {}).get("title", "dumpling-mock"))
    docs = docs_page(title)

    async def home(request: Request) -> Response:
        base_url = str(request.base_url).rstrip("/")
        data = index(ctx, base_url)
        if wants_html(request):
            return HTMLResponse(home_page(data))
        return Response(orjson.dumps(data, option=orjson.OPT_INDENT_2), media_type="application/json")

    async def docs_html(request: Request) -> Response:
        return HTMLResponse(docs)

    return [
        Route("/", home, methods=["GET"]),
        Route("/docs", docs_html, methods=["GET"]),
        Mount(DOCS_ASSETS, app=StaticFiles(directory=swagger_ui_dir()), name="docs-static"),
    ]
