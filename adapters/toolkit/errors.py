"""Errors a registry raises on purpose, each with the code its clients see.

They are kept apart from `xroad.errors` because they are answers of the registry (the
provider information system), not faults of the bus: the security server passes them through
unchanged, and the adapter alone decides how they look (SOAP fault, business fault, JSON).
"""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class AdapterError(Exception):
    """Root of every error an adapter raises deliberately; anything else is a bug."""

    code: ClassVar[str] = "InternalError"


class InvalidRequest(AdapterError):
    """The client's request is malformed: a `Client.*` SOAP fault or HTTP 400."""

    code = "InvalidRequest"


class NotFound(AdapterError):
    """The request is well formed but the registry holds no such record.

    X-Road (PR-MESS Annex D.2) sends business errors in the normal SOAP response body; REST
    answers 404.
    """

    code = "NotFound"


class ErrorBody(BaseModel):
    """A registry error as REST clients see it."""

    model_config = ConfigDict(frozen=True)

    type: str
    message: str
