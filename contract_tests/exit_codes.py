"""Exit codes of a contract-kit run, shared by `dumpling-contract` and `pytest contract_tests`."""

from __future__ import annotations

CONFORMANT = 0  # every planned check ran and none failed
FINDINGS = 1  # at least one finding of a class that fails the build (--fail-on)
USAGE = 2  # a bad option or environment variable; nothing was sent
KEY_REJECTED = 3  # the API key is missing, was rejected (401) or has no credits (403)
INCOMPLETE = 4  # the request budget or --max-time ran out before the planned checks ran; no finding so far
UNREACHABLE = 5  # the target did not answer (connection refused, no complete answer within --timeout)

MEANING = {
    CONFORMANT: "conformant",
    FINDINGS: "findings",
    USAGE: "usage error",
    KEY_REJECTED: "API key unusable",
    INCOMPLETE: "incomplete (request budget or run time spent)",
    UNREACHABLE: "target unreachable",
}
