"""dumpling-mock: an offline twin of DumplingAI's get-tiktok-profile-videos, built from its contract."""

__version__ = "0.1.0"
