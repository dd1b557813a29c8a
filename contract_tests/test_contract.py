"""The contract kit's tests, in the order they spend the request budget: the cheap, decisive
checks first (preflight with the key, auth, the pagination walk), then schemathesis' stateful,
examples, coverage and fuzzing phases, each with its share of what is left.

Findings are recorded by the kit (see conftest.py), not raised, so one run reports all of them.
"""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
from schemathesis import Case, Response

from contract_tests import pagination, wording
from contract_tests.budget import ShareSpent
from contract_tests.findings import cause_of
from contract_tests.kit import current

KIT = current()
STATEFUL_STEPS = 4  # a first page, then up to three NextPage links
END_SHARE = 0.35  # of the budget left after the walk: the search for the last page (18 of a default 60)
END_RESERVE = (
    4  # of that share, kept for a page before the last (1) and the walk from it (up to 3); then its join if left
)
END_PROBES_IN_PROCESS = 40


def test_preflight() -> None:
    """The first request, with the key: a missing or rejected key stops the run loudly (pitfall 4)."""
    if not KIT.api_key:
        KIT.state.key_problem = "no API key: pass --api-key or set DUMPLING_API_KEY (nothing was sent)"
        pytest.fail(KIT.state.key_problem, pytrace=False)
    case = KIT.case(KIT.page_body())
    response = KIT.exchange(case)
    if response.status_code == 401:
        KIT.state.key_problem = f"the API key was rejected: {response.status_code} {KIT.excerpt(response.content, 120)}"
    elif response.status_code == 403:
        KIT.state.key_problem = (
            f"the API key cannot pay for a request (403, insufficient credits): {KIT.excerpt(response.content, 120)}"
        )
    if KIT.state.key_problem:
        pytest.fail(KIT.state.key_problem, pytrace=False)
    if 200 <= response.status_code < 300:
        KIT.state.first_page = (case, response)


def test_auth_enforced() -> None:
    """auth_enforced: no key and an invalid key both get 401 (free: errors cost nothing)."""
    for label, key in (("no Authorization header", None), ("an invalid key", KIT.bad_key)):
        response = KIT.exchange(KIT.case(KIT.page_body(), key=key))
        if response.status_code == 401:
            KIT.recorder.passed("auth_enforced")
        else:
            KIT.recorder.add("auth_enforced", response, *wording.auth_wording(label, response, KIT.operation))


def test_pagination_walk() -> None:
    """pagination_walk: follow max_cursor -> maxCursor (bounded), check the pages together and, with
    one overlapping request, that the first two pages join up."""
    if KIT.state.first_page is None:
        pytest.skip("no first page to walk from (see test_preflight)")
    _, first = KIT.state.first_page
    walk = pagination.walk(first, _fetch, KIT.link, KIT.options.walk_pages)
    problems = list(walk.problems)
    full = [page for page in walk.read if page.items]
    if not problems and len(full) >= 2:
        problems += pagination.check_join(full[0], full[1], _fetch, KIT.link, 1)
    _record(problems)
    KIT.state.walk = walk
    KIT.state.notes.append(
        f"pagination_walk: handle {KIT.handle!r}, {walk.pages} page(s), {walk.items} item(s); stopped at {walk.ended}"
    )
    KIT.state.notes += [f"pagination_walk: {note}" for note in walk.notes]


@pytest.mark.budget_share(END_SHARE)
def test_pagination_end() -> None:
    """pagination_walk at the end of the profile: when the walk stopped at its bound, find a page
    near the end by bisecting the cursor from one far in the past, then walk from there to the end."""
    walk = KIT.state.walk
    if walk is None or walk.reached_end or walk.problems or not walk.last_cursor:
        if walk is None:
            reason = "no walk to continue"
        elif walk.reached_end:
            reason = "the walk already read the last page"
        else:
            reason = f"the walk stopped at {walk.ended}" + (", with findings" if walk.problems else "")
        KIT.state.notes.append(f"pagination_end: not run ({reason})")
        return
    allowed = (KIT.budget.line - KIT.budget.used) if KIT.budget.line is not None else END_PROBES_IN_PROCESS
    probes = allowed - END_RESERVE
    if probes < 2:
        KIT.state.notes.append(f"pagination_end: not run (its share of the budget, {allowed} request(s), is too small)")
        return
    page_size = min(
        (len(page.items) for page in walk.read if page.items), default=1
    )  # TikTok's page sizes vary: the smallest full page
    search = pagination.find_end(walk.last_cursor, _fetch, KIT.link, probes, page_size)
    problems = list(search.problems)
    note = f"pagination_end: {search.requests} probe(s), {search.ended}"
    if search.found is not None:
        start, asked = search.found, search.asked
        before = pagination.before_last(search, page_size)
        if before and int(before) > int(search.asked):
            response = _fetch(before)
            if 200 <= response.status_code < 300 and pagination.page_items(response):  # else: walk from the page found
                start, asked = response, before
        tail = pagination.walk(start, _fetch, KIT.link, 3, asked=asked, label="end page")
        problems += tail.problems
        KIT.state.notes += [f"pagination_end: {note}" for note in (*search.notes, *tail.notes)]
        full = [page for page in tail.read if page.items]
        if (
            not tail.problems and len(full) >= 2 and KIT.budget.within_share()
        ):  # the reserve covers the walk, not always the join
            problems += pagination.check_join(full[-2], full[-1], _fetch, KIT.link, len(full) - 1, label="end page")
        note += f"; then {tail.pages} page(s) to {tail.ended}"
    _record(problems)
    KIT.state.notes.append(note)


def _fetch(cursor: str) -> Response:
    return KIT.exchange(KIT.case(KIT.page_body(cursor)))


def _record(problems: list[pagination.Problem]) -> None:
    for problem in problems:  # the same problem at the start and at the end is one cause
        cause = cause_of(problem.message.replace("end page", "page"), problem.response.status_code)
        KIT.recorder.add("pagination_walk", problem.response, "Pagination is inconsistent", problem.message, cause)
    if not problems:
        KIT.recorder.passed("pagination_walk")


STATEFUL = KIT.schema(phases=("stateful",), mode="positive")


@pytest.mark.budget_share(0.15)
def test_stateful_pagination() -> None:
    """schemathesis' stateful phase: chains of the OpenAPI link NextPage (max_cursor -> maxCursor)."""

    class Machine(STATEFUL.as_state_machine()):  # type: ignore[misc]  # a class built at run time: typing sees no base
        def call(self, case: Case[Any], **kwargs: object) -> Response:
            return _send(case, "stateful")

        def validate_response(
            self, response: Response, case: Case[Any], additional_checks: object = None, **kwargs: object
        ) -> None:
            KIT.validate(case, response)

    settings = hypothesis.settings(
        max_examples=KIT.options.max_examples // STATEFUL_STEPS + 1,
        stateful_step_count=STATEFUL_STEPS,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    Machine.run(settings=settings)


def _send(case: Case[Any], phase: str) -> Response:
    """Send a generated case; at the end of the test's share, ShareSpent stops the test cleanly."""
    try:
        response = KIT.send(case)
    except ShareSpent:
        KIT.state.stopped[phase] = "its share of the request budget"
        raise
    KIT.state.sent[phase] = KIT.state.sent.get(phase, 0) + 1
    return response


def _check(case: Case[Any], phase: str) -> None:
    KIT.validate(case, _send(case, phase))


EXAMPLES = KIT.schema(phases=("examples",))
COVERAGE = KIT.schema(phases=("coverage",))
FUZZING = KIT.schema(phases=("fuzzing",))


@EXAMPLES.parametrize()
@pytest.mark.budget_share(0.2)
def test_examples_phase(case: Case[Any]) -> None:
    """The contract's request examples (the page's cURL example and the next page)."""
    _check(case, "examples")


@COVERAGE.parametrize()
@pytest.mark.budget_share(0.6)
def test_coverage_phase(case: Case[Any]) -> None:
    """Boundary and invalid values of every field, missing fields, unexpected methods."""
    _check(case, "coverage")


@FUZZING.parametrize()
@pytest.mark.budget_share(1.0)
def test_fuzzing_phase(case: Case[Any]) -> None:
    """Random valid and invalid requests (positive and negative modes)."""
    _check(case, "fuzzing")
