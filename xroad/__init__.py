"""An X-Road-compatible data-exchange bus for government registries."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("xroad-bus")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
