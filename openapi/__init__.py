"""The bundled contract (vendor YAML, prose overlay, admin API), shipped as package data."""
