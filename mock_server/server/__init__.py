"""Plumbing below the routes: secrets masking, logs, HTTP limits, body caps, memo caches, the uvicorn runner."""
