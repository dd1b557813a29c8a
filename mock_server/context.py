"""Everything a request needs, built once at start-up and passed explicitly (no module globals).

The only mutable parts are `store` (the ledger, see state.py) and `rng` (fault probabilities).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mock_server.contract import Contract
from mock_server.settings import Settings
from mock_server.state import Store
from mock_server.validator import ContractValidator


@dataclass
class Context:
    settings: Settings
    contract: Contract
    validator: ContractValidator
    store: Store
    rng: random.Random

    @property
    def known_keys(self) -> list[str]:
        """Plain configured keys, only so that logs can mask them if they ever appear in text."""
        return [k.key for k in self.settings.keys]
