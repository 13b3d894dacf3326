"""The project's XSD, WSDL and OpenAPI files, shipped as package data and read only."""

from pathlib import Path


def path(*parts: str) -> Path:
    """The file `schemas/<parts...>`, wherever the package is installed."""
    return Path(__file__).parent.joinpath(*parts)
