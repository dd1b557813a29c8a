"""The contract kit: check any target against the effective contract."""
