"""The request journal: what an entry keeps (masked, bounded), what a response leaves in it, and queries."""
