"""Schema-valid fake data for any operation without a domain provider (Prism's dynamic mode).

Deterministic: the same schema and seed give the same value. Only what OpenAPI 3.0 schemas of
JSON APIs use is covered; anything unknown becomes null when nullable, else an empty object.
"""

from __future__ import annotations

import random
from typing import Any

from faker import Faker

from mock_server.contract.refs import target

MAX_DEPTH = 6


def generate(document: dict[str, Any], schema: dict[str, Any], seed: int) -> Any:
    fake = Faker()
    fake.seed_instance(seed)
    return _value(document, schema, random.Random(seed), fake, 0)


def _value(document: dict[str, Any], schema: dict[str, Any], rng: random.Random, fake: Faker, depth: int) -> Any:
    schema = target(document, schema)
    if "example" in schema:
        return schema["example"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    for combinator in ("allOf", "oneOf", "anyOf"):
        if combinator in schema:
            parts = schema[combinator] if combinator == "allOf" else schema[combinator][:1]
            merged: dict[str, Any] = {}
            for part in parts:
                value = _value(document, part, rng, fake, depth + 1)
                if not isinstance(value, dict):
                    return value
                merged.update(value)
            return merged
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    if depth > MAX_DEPTH and kind in ("object", "array", None):
        return None if schema.get("nullable") else ({} if kind != "array" else [])
    if kind == "string":
        return _string(schema, rng, fake)
    if kind == "integer":
        low, high = int(schema.get("minimum", 0)), int(schema.get("maximum", 10_000))
        return rng.randint(low, max(low, high))
    if kind == "number":
        lowest, highest = float(schema.get("minimum", 0)), float(schema.get("maximum", 10_000))
        return round(rng.uniform(lowest, max(lowest, highest)), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "array":
        count = max(int(schema.get("minItems", 1)), min(int(schema.get("maxItems", 3)), rng.randint(1, 3)))
        return [_value(document, schema.get("items") or {}, rng, fake, depth + 1) for _ in range(count)]
    if kind == "object" or kind is None:
        properties = schema.get("properties") or {}
        return {name: _value(document, sub, rng, fake, depth + 1) for name, sub in properties.items()}
    return None


def _string(schema: dict[str, Any], rng: random.Random, fake: Faker) -> str:
    fmt = schema.get("format")
    if fmt == "date-time":
        return fake.date_time(tzinfo=None).isoformat() + "Z"
    if fmt == "date":
        return fake.date()
    if fmt in ("uri", "url"):
        return fake.url()
    if fmt == "email":
        return fake.email()
    if fmt == "uuid":
        return str(fake.uuid4())
    low = int(schema.get("minLength", 1))
    high = int(schema.get("maxLength", max(low, 24)))
    text = fake.pystr(min_chars=low, max_chars=max(low, min(high, 24))) if "pattern" not in schema else ""
    return text[:high] if len(text) >= low else text.ljust(low, "x")
