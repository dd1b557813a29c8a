"""The benchmark's baseline: a bare FastAPI endpoint answering the mock's route with a precomputed
page of the same bytes, so that the ratio mock / baseline measures only what the mock adds (auth,
ledger, data, validation, journal), not FastAPI, uvicorn or the size of the page.

Run by bench/run.py as `uvicorn baseline_app:app --app-dir bench`; the page comes from the file
named by BENCH_BODY_FILE (the mock's own response to the same request).
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response

BODY = Path(os.environ["BENCH_BODY_FILE"]).read_bytes()

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.post("/api/v1/get-tiktok-profile-videos")
async def page() -> Response:
    return Response(BODY, media_type="application/json")
