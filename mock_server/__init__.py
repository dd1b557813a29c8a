"""dumpling-mock: an offline twin of DumplingAI's get-tiktok-profile-videos, built from its contract."""

from importlib.metadata import PackageNotFoundError, version

try:
    # The installed distribution's version, which setuptools-scm took from the git tag at build time.
    __version__ = version("dumpling-mock")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0.0.0+unknown"
