"""Faults a user injects: typed specs with a closed set of kinds, and the transport faults below HTTP."""
