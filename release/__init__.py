"""Maintainer tooling for releases: the hash-locked requirements, the CHANGELOG's release notes,
the pinned install of a release and its smoke test (README: "Releases"). Not shipped in the wheel."""
