"""The contract: the bundled OpenAPI document loaded (with its overlay), the one validator, and contract evolution (vendor page, diff)."""
