"""Stand-in OpenList and CloudDrive2 servers that speak the real wire formats, for tests."""

from .clouddrive2 import CloudDrive2StandIn
from .openlist import ADMIN, GENERAL, Meta, OpenListStandIn, User
from .openlist_sign import make_sign, verify_sign

__all__ = [
    "ADMIN",
    "GENERAL",
    "CloudDrive2StandIn",
    "Meta",
    "OpenListStandIn",
    "User",
    "make_sign",
    "verify_sign",
]
