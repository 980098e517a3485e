"""Stand-in OpenList and CloudDrive2 servers that speak the real wire formats, for tests."""

from .openlist import ADMIN, GENERAL, OpenListStandIn, User
from .openlist_sign import make_sign, verify_sign

__all__ = ["ADMIN", "GENERAL", "OpenListStandIn", "User", "make_sign", "verify_sign"]
