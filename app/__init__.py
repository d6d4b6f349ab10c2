"""Connect2IP's data subject request service."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("connect2ip-dsr")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
