"""Panel access: one password (from config, or set on first start), sessions, the guard.

Who gets in:
- requests through Home Assistant ingress (see `ingress.py`): trusted, HA logged them in;
- a browser session that logged in with the password;
- API clients with HTTP basic auth (any user name, the panel password);
  (too many wrong passwords or setup codes from one address lock it out for a while:
  `lockout.py`)
- while no password exists at all, nobody but ingress: the first start is closed. `/setup`
  sets the password with the one-time setup code printed in the serve log.
The login and setup pages, a minimal `/api/v1/health` and the webhook endpoints (their own
token) are open.
Unsafe requests carrying a browser session must carry its CSRF token.
"""

import hmac
import os
import secrets
from datetime import timedelta
from hashlib import sha256
from pathlib import Path

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from werkzeug.exceptions import TooManyRequests
from werkzeug.security import check_password_hash, generate_password_hash

from strmsync.config import Settings
from strmsync.errors import ConfigError
from strmsync.web.csrf import SAFE_METHODS, check_csrf, csrf_token
from strmsync.web.ingress import INGRESS_KEY
from strmsync.web.lockout import LoginLockout, wait_message

PASSWORD_FILE = "panel-password"
SECRET_FILE = "panel-secret"
MIN_PASSWORD = 8
OPEN_ENDPOINTS = {"panel.login", "panel.setup", "panel.static", "api.health"}
WEBHOOK_PATH = "/api/v1/webhook"
LOCKOUT_KEY = "strmsync.login_lockout"
SETUP_CODE_KEY = "strmsync.setup_code"


class LockedOut(Exception):
    """This client address gave too many wrong passwords; `wait` seconds are left."""

    def __init__(self, wait: float):
        super().__init__(wait_message(wait))
        self.wait = wait


def _settings() -> Settings:
    return current_app.config["STRMSYNC_SETTINGS"]


def _private_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def secret_key(data_dir: Path) -> str:
    """The key that signs session cookies, made once and kept in the data directory."""
    path = Path(data_dir) / SECRET_FILE
    if not path.is_file():
        _private_file(path, secrets.token_hex(32))
    return path.read_text().strip()


def password_origin(settings: Settings) -> str | None:
    """`config` (from options or environment), `stored` (set in the panel), or None."""
    if settings.panel_password:
        return "config"
    return "stored" if (settings.data_dir / PASSWORD_FILE).is_file() else None


def check_password(settings: Settings, candidate: str) -> bool:
    """True when `candidate` is the panel password."""
    origin = password_origin(settings)
    if origin == "config":
        return hmac.compare_digest(candidate.encode(), settings.panel_password.encode())
    if origin == "stored":
        return check_password_hash((settings.data_dir / PASSWORD_FILE).read_text().strip(),
                                   candidate)
    return False


def set_password(settings: Settings, new: str, repeat: str) -> None:
    """Store a new panel password, hashed; ConfigError when it is unusable."""
    if password_origin(settings) == "config":
        raise ConfigError("password: set in the configuration; change it there")
    if len(new) < MIN_PASSWORD:
        raise ConfigError(f"password: at least {MIN_PASSWORD} characters")
    if new != repeat:
        raise ConfigError("repeat: the two passwords differ")
    _private_file(settings.data_dir / PASSWORD_FILE, generate_password_hash(new))


def _fingerprint(settings: Settings) -> str:
    # Sessions carry a digest of the current password, so changing it logs everyone out.
    stored = settings.data_dir / PASSWORD_FILE
    material = settings.panel_password or stored.read_text().strip()
    key = current_app.secret_key.encode()
    return hmac.new(key, material.encode(), sha256).hexdigest()[:32]


def log_in() -> None:
    """Mark this browser session as logged in (a fresh session, against fixation)."""
    token = session.get("csrf_token")
    session.clear()
    session.permanent = True
    session["auth"] = _fingerprint(_settings())
    if token:
        session["csrf_token"] = token


def log_out() -> None:
    """Forget this browser session."""
    session.clear()


def via_ingress() -> bool:
    """True when this request came through Home Assistant ingress."""
    return bool(request.environ.get(INGRESS_KEY))


def logged_in() -> bool:
    """True when this browser session logged in with the current password."""
    stored = session.get("auth")
    if not stored or password_origin(_settings()) is None:
        return False
    return hmac.compare_digest(stored, _fingerprint(_settings()))


def password_attempt(candidate: str) -> bool:
    """Check a password a client sent, counting wrong ones per address; LockedOut when
    its address has had too many (then nothing is checked)."""
    return _attempt(lambda: check_password(_settings(), candidate))


def setup_code_attempt(candidate: str) -> bool:
    """Check a setup code like a password: wrong ones count towards the lock-out."""
    code = setup_code(current_app)
    return _attempt(lambda: hmac.compare_digest(candidate.strip().encode(), code.encode()))


def _attempt(check) -> bool:
    lockout: LoginLockout = current_app.extensions[LOCKOUT_KEY]
    address = request.remote_addr or ""
    wait = lockout.wait_for(address)
    if wait:
        raise LockedOut(wait)
    if check():
        lockout.succeeded(address)
        return True
    lockout.failed(address)
    return False


def setup_code(app: Flask) -> str:
    """The one-time code `/setup` asks for, made when the app is (shown in the serve log)."""
    return app.extensions[SETUP_CODE_KEY]


def _basic_auth_ok() -> bool:
    auth = request.authorization
    if not (auth and auth.password):
        return False
    try:
        return password_attempt(auth.password)
    except LockedOut as exc:
        raise TooManyRequests(str(exc), retry_after=int(exc.wait) + 1) from None


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _exempt() -> bool:
    return request.endpoint in OPEN_ENDPOINTS or request.path.startswith(WEBHOOK_PATH)


def access() -> str | None:
    """How this request is let in: ingress, session, basic, open; None when it is not."""
    if via_ingress():
        return "ingress"
    if logged_in():
        return "session"
    if password_origin(_settings()) is None:
        return None
    return "basic" if _is_api() and _basic_auth_ok() else None


def guard():
    """Before each request: let it in, or send it to the login (API: 401)."""
    if request.blueprint == "panel" and request.method not in SAFE_METHODS:
        check_csrf()
    if _exempt():
        return None
    g.access = access()
    if g.access is None:
        return _turn_away()
    if g.access in ("ingress", "session") and _is_api():
        check_csrf()
    return None


def _turn_away():
    first_start = password_origin(_settings()) is None
    if _is_api() and first_start:
        abort(401, "no panel password is set yet: open /setup with the setup code from the"
                   " serve log, or set STRMSYNC_PANEL_PASSWORD")
    if _is_api():
        abort(401, "log in to the panel, or use HTTP basic auth with the panel password")
    if first_start:
        return redirect(url_for("panel.setup"))
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("panel.login", next=target))


def _new_setup_code() -> str:
    # Three groups of four from an alphabet without look-alikes (0/O, 1/l/I): easy to type
    # from a log, about 62 bits.
    alphabet = "23456789abcdefghjkmnpqrstuvwxyz"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


def safe_next(target: str | None) -> str:
    """A post-login destination inside this app (never another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return request.script_root + target
    return url_for("panel.dashboard")


def init_app(app: Flask) -> None:
    """Session cookie settings, the guard, and the CSRF token for templates."""
    settings = app.config["STRMSYNC_SETTINGS"]
    app.secret_key = secret_key(settings.data_dir)
    app.config.update(SESSION_COOKIE_NAME="strmsync_session", SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_HTTPONLY=True,
                      PERMANENT_SESSION_LIFETIME=timedelta(days=30))
    app.extensions[LOCKOUT_KEY] = LoginLockout()
    app.extensions[SETUP_CODE_KEY] = _new_setup_code()
    app.before_request(guard)
    app.jinja_env.globals["csrf_token"] = csrf_token
