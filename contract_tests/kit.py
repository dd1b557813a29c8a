"""The run: target, contract, budget, recorder, and the one way the kit sends and checks a request.

Every request the kit makes (schemathesis' generated cases, the stateful machine, the kit's own
requests) goes through `Kit.send`, and every response through `Kit.validate`, so the budget, the
rate limit, the checks and the recording are the same for all of them.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass, field
from typing import Any

import requests
from _pytest.outcomes import Failed  # pytest.fail.Exception itself, as a class typing can subclass
from schemathesis import Case, Response
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi import from_dict
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import ignored_auth

from contract_tests.budget import Budget, BudgetSpent, ShareSpent, counted_app, counted_session
from contract_tests.checks import TITLES, DomainChecks
from contract_tests.findings import Classifier, Recorder
from contract_tests.limits import Limits
from contract_tests.options import KitOptions
from contract_tests.pagination import Walk
from contract_tests.progress import LiveView
from mock_server.contract.document import Contract, Operation, load_contract
from mock_server.contract.links import PageLink, page_link
from mock_server.contract.validator import ContractValidator
from mock_server.server.secrets import mask_excerpt, mask_text, url_secrets
from mock_server.settings import ApiKey, Settings

IN_PROCESS_KEY = "sk_contract_kit_in_process"  # the only key of the in-process mock
PHASES = ("examples", "coverage", "fuzzing", "stateful")
# schemathesis' default minus 401: with a key the preflight accepted, a 401 is a finding (pitfall 4).
POSITIVE_STATUSES = ["2xx", "3xx", "403", "404", "409", "429", "5xx"]
TOO_LARGE = "response_too_large"  # the finding of a body over limits.MAX_RESPONSE_BYTES


class TargetUnreachable(Failed):
    """The target did not answer; the run stops (nothing after it could be checked)."""


@dataclass
class RunState:
    first_page: tuple[Case[Any], Response] | None = None
    walk: Walk | None = None  # the pagination walk, which the search for the last page continues
    key_problem: str = ""  # why the key cannot be used, when it cannot
    unreachable: str = ""  # why the target could not be reached, when it could not
    incomplete: str = ""  # why the run stopped before its plan was done
    auth_confirmed: bool = False  # ignored_auth already probed a 2xx once (as the CLI does)
    stopped: dict[str, str] = field(default_factory=dict)  # phase -> why it stopped early
    notes: list[str] = field(default_factory=list)
    successes: int = 0  # 2xx responses: the only ones that cost credits
    sent: dict[str, int] = field(default_factory=dict)  # generated cases sent, by phase
    verdict: str = ""  # set when the reports are written
    report_paths: list[str] = field(default_factory=list)


class Kit:
    def __init__(self, options: KitOptions) -> None:
        self.options = options
        self.contract: Contract = load_contract()
        self.vendor: Contract = load_contract(overlay=False)
        self.validator = ContractValidator(self.contract)
        self.operation, self.link = _paginated_operation(self.contract)
        self.budget = Budget(options.max_requests, options.rate_limit)
        self.api_key = options.api_key if options.remote else IN_PROCESS_KEY
        self.bad_key = "sk_contract_kit_invalid_" + secrets.token_hex(8)
        self.secrets = [self.api_key or "", *url_secrets(options.base_url)]
        self.recorder = Recorder(Classifier(self.vendor), [*self.secrets, self.bad_key], TITLES)
        self.checks = DomainChecks(self.contract, self.validator, self.budget)
        self.state = RunState()
        self.limits = Limits(options.timeout_s, options.max_time_s)
        self.session = counted_session(self.budget, self.limits) if options.remote else None
        self._cut: Response | None = None  # the last response whose body was cut at the cap
        self.app = None if options.remote else counted_app(_in_process_mock(), self.budget)
        self.base = self.schema(phases=())
        self.view: LiveView | None = None  # the live view, from the session's start (conftest.py)

    # --- schemas --------------------------------------------------------------------------------
    def schema(self, phases: tuple[str, ...], mode: str = "all", max_examples: int | None = None) -> BaseSchema:
        """The effective contract as a schemathesis schema, wired to this run's target and checks."""
        data: dict[str, Any] = {
            "seed": self.options.seed,
            "suppress-health-check": ["all"],
            "generation": {
                "mode": mode,
                "max-examples": max_examples or self.options.max_examples,
                "no-shrink": True,
                "database": "none",
            },
            "analysis": {"constants": {"enabled": False}},  # pitfall 9: no literals harvested from the mock
            "phases": {phase: {"enabled": phase in phases} for phase in PHASES},
            "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}},
            "request-timeout": self.options.timeout_s,
        }
        if self.api_key:
            data["headers"] = {"Authorization": f"Bearer {self.api_key}"}
        if self.options.base_url:
            data["base-url"] = self.options.base_url  # pitfall 10: before any operation is taken
        schema = from_dict(copy.deepcopy(self.contract.document), config=SchemathesisConfig.from_dict(data))
        if self.app is not None:
            schema.app = self.app
        recorder = self.recorder

        def after_validate(context: Any, case: Case[Any], response: Response, results: list[Any]) -> None:
            recorder.on_results(response, results)

        schema.hook(after_validate)
        return schema

    # --- the kit's own requests ------------------------------------------------------------------
    def case(self, body: Any, key: str | None = "") -> Case[Any]:
        """A request to the paginated operation; key "" = the run's key, None = no Authorization."""
        headers = {"Content-Type": "application/json"}
        key = self.api_key if key == "" else key
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return self.base[self.operation.path][self.operation.method].Case(
            body=body, headers=headers, media_type="application/json"
        )

    def page_body(self, cursor: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"handle": self.handle}
        if cursor is not None:
            body[self.link.cursor_param] = cursor
        return body

    @property
    def handle(self) -> str:
        if self.options.handle:
            return self.options.handle
        for example in (
            self.operation.raw.get("requestBody", {}).get("content", {}).get("application/json", {}).get("examples")
            or {}
        ).values():
            handle = (example.get("value") or {}).get("handle")
            if isinstance(handle, str):
                return handle
        raise RuntimeError("the contract has no request example with a handle; pass --handle")

    # --- sending and checking ---------------------------------------------------------------------
    def send(self, case: Case[Any]) -> Response:
        if not self.budget.within_share():
            raise ShareSpent("this test's share of the request budget is spent")
        if self.budget.spent:
            raise BudgetSpent(f"the request budget of {self.budget.cap} requests is spent")
        if self.limits.out_of_time:
            raise self.limits.out_of_time_error()
        self.limits.cuts.clear()
        try:
            response = case.call(**self.transport_kwargs())
        except requests.RequestException as exc:
            self.state.unreachable = f"the target did not answer: {type(exc).__name__}: {self.excerpt(str(exc), 200)}"
            raise TargetUnreachable(self.state.unreachable, pytrace=False) from None
        if self.limits.cuts:  # checked no further: a cut body would only add findings about the cut
            self._cut = response
            self.recorder.add(
                TOO_LARGE,
                response,
                "Response body too large",
                "; ".join(self.limits.cuts) + " (a real page is under 100 KiB)",
            )
        return response

    # --- masking: every text the kit writes passes here first -------------------------------------
    def mask(self, text: str) -> str:
        """`text` with the API key and the --base-url credentials masked (mock_server.server.secrets)."""
        return mask_text(text, self.secrets, fragments=True)

    def excerpt(self, text: str | bytes, limit: int) -> str:
        """At most `limit` characters of `text`, masked before the cut."""
        if isinstance(text, bytes):
            text = text[: limit * 16 + 16 * 1024].decode("utf-8", "replace")
        return mask_excerpt(text, self.secrets, limit, fragments=True)

    def validate(self, case: Case[Any], response: Response) -> None:
        """All default checks plus the domain checks; failures are recorded, not raised.

        ignored_auth probes a 2xx once per run, as schemathesis' CLI does. Against a remote target it
        does not run at all: its probes drop the session (pitfall 5), so the budget could not count
        them; auth_enforced sends the same two probes through the counted session instead.
        """
        if response is self._cut:
            return
        excluded = [ignored_auth] if self.state.auth_confirmed or self.options.remote else []
        try:
            case.validate_response(
                response,
                additional_checks=self.checks.all(),
                excluded_checks=excluded,
                transport_kwargs=self.transport_kwargs(),
            )
        except FailureGroup:
            pass  # recorded by the after_validate hook
        if 200 <= response.status_code < 300:
            self.state.successes += 1
            self.state.auth_confirmed = self.state.auth_confirmed or not excluded

    def exchange(self, case: Case[Any]) -> Response:
        response = self.send(case)
        self.validate(case, response)
        return response

    def transport_kwargs(self) -> dict[str, Any]:
        return {"session": self.session} if self.session is not None else {}


def _paginated_operation(contract: Contract) -> tuple[Operation, PageLink]:
    for op in contract.operations:
        link = page_link(op)
        if link is not None:
            return op, link
    raise RuntimeError("the effective contract has no pagination link (the overlay's NextPage)")


def _in_process_mock() -> Any:
    from mock_server.app.factory import create_app

    return create_app(Settings(api_keys=(ApiKey(IN_PROCESS_KEY, 10**12),)))


_current: Kit | None = None


def start(options: KitOptions) -> Kit:
    global _current
    _current = Kit(options)
    return _current


def current() -> Kit:
    if _current is None:
        raise RuntimeError(
            "the contract kit is not configured: run it with `dumpling-contract` or `pytest contract_tests`"
        )
    return _current
