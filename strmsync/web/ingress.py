"""Home Assistant ingress: serve under the prefix HA sends, for requests from HA only."""

import re

# HA strips its prefix (/api/hassio_ingress/<token>) and passes it in X-Ingress-Path.
PREFIX_RE = re.compile(r"^(/[A-Za-z0-9_.~-]+)+$")
INGRESS_KEY = "strmsync.ingress"


class IngressMiddleware:
    """WSGI middleware: `SCRIPT_NAME` from `X-Ingress-Path` when the peer is HA's proxy."""

    def __init__(self, app, trusted_address: str):
        self.app = app
        self.trusted = {addr.strip() for addr in trusted_address.split(",") if addr.strip()}

    def __call__(self, environ, start_response):
        prefix = environ.pop("HTTP_X_INGRESS_PATH", "").rstrip("/")
        environ[INGRESS_KEY] = False
        if environ.get("REMOTE_ADDR") in self.trusted and valid_prefix(prefix):
            environ["SCRIPT_NAME"] = prefix
            environ[INGRESS_KEY] = True
        return self.app(environ, start_response)


def valid_prefix(prefix: str) -> bool:
    """A plain absolute URL path: segments of safe characters, no `..`, no `//`."""
    return bool(PREFIX_RE.match(prefix)) and "/../" not in prefix + "/" and \
        "/./" not in prefix + "/"
