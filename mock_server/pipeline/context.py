"""Everything a request needs, built once at start-up and passed explicitly (no module globals).

The only mutable parts are `store` (the ledger, see ledger/), `rng` (fault probabilities), and
bounded caches of pure functions that never change what a response says: `pages` (rendered
pages), `summaries` (what the journal keeps of a success body) and `verdicts` (what a request
body means, validate_request.BodyVerdict); and `access_log`, lines
waiting for the next turn of the event loop.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from mock_server.contract.document import Contract
from mock_server.contract.validator import ContractValidator
from mock_server.data.pages import Pages
from mock_server.ledger.base import Store
from mock_server.server.logs import AccessLog
from mock_server.server.memo import BodyMemo
from mock_server.settings import Settings

VERDICT_MEMO_BYTES = 1024 * 1024  # ~800 distinct request bodies


@dataclass
class Context:
    settings: Settings
    contract: Contract
    validator: ContractValidator
    store: Store
    rng: random.Random
    pages: Pages = field(init=False)
    summaries: BodyMemo[dict[str, Any] | None] = field(init=False)
    verdicts: BodyMemo[Any] = field(init=False)
    access_log: AccessLog = field(init=False)

    def __post_init__(self) -> None:
        self.pages = Pages(self.settings)
        self.summaries = BodyMemo()
        self.verdicts = BodyMemo(VERDICT_MEMO_BYTES, entry_overhead=1024)  # a parsed body and its findings: ~1 KB
        self.access_log = AccessLog()

    @property
    def known_keys(self) -> list[str]:
        """Plain configured keys, only so that logs can mask them if they ever appear in text."""
        return [k.key for k in self.settings.keys]
