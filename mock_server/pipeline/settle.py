"""Stage 5, settle: the journal entry and the ledger, at once, before anything is sent
(ledger/base.py's rule): the rate-limit window, the credit debit, the entry. When the ledger
refuses (503 past the rate limit, 403 short of credits) its documented error replaces the answer,
and the journal is amended to name what is sent instead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from mock_server.faults.transport import wire_status
from mock_server.journal.entry import bounded, new_entry
from mock_server.journal.summary import response_summary
from mock_server.pipeline.context import Context
from mock_server.pipeline.negotiate import Override
from mock_server.pipeline.problems import Problem
from mock_server.pipeline.respond import Outcome, problem_outcome
from mock_server.pipeline.validate_request import Checked
from mock_server.server.secrets import bearer_key, mask

LEDGER_REASONS = {503: "rate limit exceeded for this key", 403: "fewer credits left than this request costs"}


class Settled(NamedTuple):  # a tuple: built once per request, a frozen dataclass costs 5x more
    """What is sent, once the ledger has had its say."""

    outcome: Outcome  # the responder's, or the ledger's documented 503/403
    transport: str  # a fault below HTTP still to put on the wire ("" for none)
    wire_status: int  # the status the journal and access log name (0: nothing reaches the wire)
    journal_id: int | None
    limit: int | None  # X-RateLimit-Limit and -Remaining, None when the request was not authenticated
    remaining: int | None
    secrets: list[str]  # masked wherever they appear in what is sent or logged
    key: str  # the masked key, as journaled
    handle: str  # the handle, as journaled (masked: a client may send its key as the handle)


def settle(
    method: str,
    path: str,
    headers: Mapping[str, str],
    checked: Checked,
    override: Override | None,
    outcome: Outcome,
    ctx: Context,
) -> Settled:
    presented = checked.presented if checked.op.secured else bearer_key(headers.get("authorization"))
    secrets = [presented, *ctx.known_keys] if presented else ctx.known_keys
    # A fault below HTTP is journaled with the status it puts on the wire (0: none) and costs nothing.
    transport = override.transport if override is not None else ""
    candidate = wire_status(transport, outcome.status) if transport else outcome.status
    entry = new_entry(
        method=method,
        path=path,
        operation=checked.op.operation_id,
        key=mask(presented),
        content_type=headers.get("content-type", ""),
        body=checked.body_text,
        handle=checked.handle,
        example=outcome.example,
        reason=outcome.reason,
        warnings=checked.warnings,
        violations=[v.as_dict() for v in checked.violations],
        forced=override.source if override is not None and (override.status or override.transport) else None,
        replayed=outcome.replayed,
        response=_summary(ctx, outcome.status, outcome.body),
        fault=transport,
        secrets=secrets,
    )
    settlement = ctx.store.settle(checked.key, candidate, 0 if transport else outcome.cost, entry)
    if settlement.status != candidate:
        outcome = problem_outcome(checked, Problem(settlement.status, None, LEDGER_REASONS[settlement.status]))
        if settlement.journal_id is not None:  # the journal names what was sent, not the page that was not
            amend = {"fault": None} if transport else {}  # the connection was not broken
            ctx.store.amend_journal(
                settlement.journal_id,
                example=outcome.example,
                reason=outcome.reason,
                response=None,
                replayed=None,
                **amend,
            )
        transport = ""  # the ledger's documented answer comes first, as for any fault
    return Settled(
        outcome,
        transport,
        candidate,
        settlement.journal_id,
        settlement.limit,
        settlement.remaining,
        secrets,
        entry["key"],
        entry["handle"],
    )


def journal_violations(settled: Settled, violations: list[dict[str, Any]], ctx: Context) -> None:
    """A response that departs from the contract: the journal says how (verify-client reads it)."""
    if violations and settled.journal_id is not None:
        ctx.store.amend_journal(
            settled.journal_id, response_violations=bounded({"v": violations}, settled.secrets)["v"]
        )


def _summary(ctx: Context, status: int, body: bytes) -> dict[str, Any] | None:
    """response_summary parses the whole body: once per distinct body is enough."""
    return ctx.summaries.get((status, body), body, lambda: response_summary(status, body))
