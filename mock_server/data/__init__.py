"""Deterministic data providers of the mock: pure functions from (seed, request) to response bodies."""
