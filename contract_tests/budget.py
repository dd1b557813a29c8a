"""The request budget: every HTTP request the kit sends passes through one counter.

Against a remote target every request (schemathesis' generated cases, the stateful machine, the
kit's own requests) goes through one `requests.Session` whose adapter counts it, refuses the one
past the cap and honours the rate limit, so the cap is exact. (schemathesis' `ignored_auth` probes
drop the session, so that check does not run against remote targets: see kit.py.) In-process, an
ASGI wrapper counts the same way. Per-test shares ("lines") let a test stop cleanly before it eats
the budget of the tests after it.
"""

from __future__ import annotations

from typing import Any

import requests
from _pytest.outcomes import Skipped  # pytest.skip.Exception itself, as a class typing can subclass
from pyrate_limiter import Limiter, Rate
from requests.adapters import HTTPAdapter
from starlette.types import ASGIApp, Receive, Scope, Send

from contract_tests.limits import Limits
from mock_server.settings import RateLimit


# Both are pytest skips: Hypothesis lets a skip through at once (no shrinking, no replay), so a
# generated test stops cleanly at the request that was not sent. conftest.py reports them.
class BudgetSpent(Skipped):
    """The run's request budget is spent: the request was not sent."""


class ShareSpent(Skipped):
    """This test's share of the budget is spent: the request was not sent (the run goes on)."""


class Budget:
    def __init__(self, cap: int | None, rate_limit: RateLimit | None = None) -> None:
        self.cap = cap
        self.used = 0
        self.line: int | None = None  # the current test may send while used < line
        # schemathesis' own limiter (pyrate-limiter), given any period, not only s/m/h/d.
        self._limiter = Limiter(Rate(rate_limit.requests, rate_limit.period_s * 1000)) if rate_limit else None

    @property
    def left(self) -> int | None:
        return None if self.cap is None else self.cap - self.used

    @property
    def spent(self) -> bool:
        return self.cap is not None and self.used >= self.cap

    def share(self, fraction: float, minimum: int = 1) -> None:
        """Give the next test `fraction` of what is left (no line when there is no cap)."""
        left = self.left
        self.line = None if left is None else self.used + max(minimum, int(left * fraction))

    def end_share(self) -> None:
        self.line = None

    def within_share(self) -> bool:
        return self.line is None or self.used < self.line

    def take(self) -> None:
        """Count one request about to be sent, or refuse it."""
        if self.spent:
            raise BudgetSpent(f"the request budget of {self.cap} requests is spent")
        if self._limiter is not None:
            self._limiter.try_acquire("dumpling-contract")
        self.used += 1


class BudgetAdapter(HTTPAdapter):
    """Counts every request the session sends (redirects and retries included), and reads every
    answer within the run's limits (total deadline, body cap: limits.py)."""

    def __init__(self, budget: Budget, limits: Limits) -> None:
        super().__init__(max_retries=0)
        self.budget = budget
        self.limits = limits

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if self.limits.out_of_time:
            raise self.limits.out_of_time_error()
        self.budget.take()
        with self.limits.request():
            response = super().send(request, *args, **{**kwargs, "stream": True})
            try:
                self.limits.read(response)
            except BaseException:
                response.close()
                raise
        return response


def counted_session(budget: Budget, limits: Limits) -> requests.Session:
    session = requests.Session()
    adapter = BudgetAdapter(budget, limits)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def counted_app(app: ASGIApp, budget: Budget) -> ASGIApp:
    """The in-process mock, with every HTTP request counted like a remote one.

    The lifespan is answered here and not passed on: schemathesis' pytest plugin ends ASGI
    lifespans after every test, and the mock's lifespan closes its ledger, which the next test needs.
    """

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        if scope["type"] == "http":
            budget.take()
        await app(scope, receive, send)

    return counting
