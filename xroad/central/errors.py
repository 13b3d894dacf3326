"""What the central server's registry refuses, besides the bus-wide errors of `xroad.errors`."""

from xroad.errors import XRoadError


class Conflict(XRoadError):
    """The change contradicts the registry (a duplicate, or already in that state)."""


class NotFound(XRoadError):
    """No such registration request, member, group or key."""
