"""The admin API under /__admin (contract: openapi/admin.yaml)."""
