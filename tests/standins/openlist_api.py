"""The OpenList JSON API views: request body in, `data` out, ApiError for envelope errors."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from .tokens import TokenRejected
from .tree import Entry, clean_path

if TYPE_CHECKING:
    from .openlist import OpenListStandIn

GENERAL, GUEST, ADMIN = 0, 1, 2  # OpenList model.User roles

# OpenList conf: UNKNOWN, FOLDER, VIDEO, AUDIO, TEXT, IMAGE (OFFICE was dropped from alist's list).
FOLDER, VIDEO, AUDIO, TEXT, IMAGE = 1, 2, 3, 4, 5


def _kind(kind: int, extensions: str) -> dict[str, int]:
    return dict.fromkeys(extensions.split(), kind)


_TYPES_BY_EXT = {
    **_kind(VIDEO, "mp4 mkv avi mov rmvb webm flv m3u8 ts m2ts iso wmv"),
    **_kind(AUDIO, "mp3 flac ogg m4a wav opus wma"),
    **_kind(TEXT, "txt htm html xml json md nfo srt ass ssa vtt lrc strm yml ini"),
    **_kind(IMAGE, "jpg jpeg png gif bmp svg ico webp avif tiff"),
}


@dataclass(frozen=True)
class User:
    """An OpenList account; its API paths are relative to `base_path`."""

    username: str
    password: str
    base_path: str = "/"
    role: int = GENERAL


@dataclass(frozen=True)
class Meta:
    """A folder meta's password part: the password and whether it covers the sub folders."""

    password: str
    sub_folders: bool = True


class ApiError(Exception):
    """An error answered as the envelope `{"code": code, "message": message, "data": null}`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def current_user(standin: OpenListStandIn, authorization: str) -> User:
    """Return the caller's account, or raise ApiError 401 as OpenList's auth middleware does."""
    try:
        return standin.authenticate(authorization)
    except TokenRejected as rejected:
        raise ApiError(401, str(rejected)) from None


def login(standin: OpenListStandIn, user: User | None, body: dict, empty: bool) -> Any:
    """POST /api/auth/login: trade a username and password for a token."""
    token = standin.login(str(body.get("username", "")), str(body.get("password", "")))
    if token is None:
        raise ApiError(401, "username or password is incorrect")
    return {"token": token}


def me(standin: OpenListStandIn, user: User, body: dict, empty: bool) -> Any:
    """GET /api/me: the caller's account, password blanked."""
    return {
        "id": list(standin.users).index(user.username) + 1 if user.username in standin.users else 1,
        "username": user.username,
        "password": "",
        "base_path": user.base_path,
        "role": user.role,
        "disabled": False,
        "permission": 0x3FFF if user.role == ADMIN else 0,
        "sso_id": "",
        "otp": False,
    }


def public_settings(standin: OpenListStandIn, user: User | None, body: dict, empty: bool) -> Any:
    """GET /api/public/settings: a few of the site settings clients look at."""
    return {
        "version": standin.version,
        "site_title": "OpenList",
        "sign_all": "true" if standin.sign_all else "false",
        "link_expiration": str(standin.link_expiration_hours),
    }


def fs_list(standin: OpenListStandIn, user: User, body: dict, empty: bool) -> Any:
    """POST /api/fs/list: one page of a folder, content null when the page is empty."""
    abs_path = _storage_path(standin, user, body)
    standin.traffic.record_listing(
        clean_path(str(body.get("path") or "/")), bool(body.get("refresh"))
    )
    entries = [] if empty else _children(standin, abs_path)
    page, per_page = _page_request(body)
    start = (page - 1) * per_page
    shown = entries[start : start + per_page]
    # Items are signed when the folder listed is (handles/fsread.go: isEncrypt(meta, reqPath)).
    signed = standin.needs_sign(abs_path)
    return {
        "content": [_item(standin, entry, signed) for entry in shown] or None,
        "total": len(entries),
        "readme": "",
        "header": "",
        "write": user.role == ADMIN,
        "provider": "unknown",
    }


def fs_get(standin: OpenListStandIn, user: User, body: dict, empty: bool) -> Any:
    """POST /api/fs/get: one object plus its raw_url (here a /p/ proxy link)."""
    abs_path = _storage_path(standin, user, body)
    try:
        entry = standin.tree.stat(abs_path)
    except (FileNotFoundError, NotADirectoryError):
        raise ApiError(500, "failed get obj: object not found") from None
    return {
        **_item(standin, entry, standin.needs_sign(abs_path)),
        "raw_url": "" if entry.is_dir else standin.link(abs_path, route="p"),
        "readme": "",
        "header": "",
        "provider": standin.provider,
        "related": None,
    }


def go_time(ns: int, tz: tzinfo) -> str:
    """Format epoch nanoseconds the way Go's time.Time marshals to JSON (RFC 3339, nanoseconds)."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, tz)
    fraction = f".{nanos:09d}".rstrip("0") if nanos else ""
    offset = stamp.strftime("%z")
    zone = "Z" if offset == "+0000" else f"{offset[:3]}:{offset[3:]}"
    return f"{stamp:%Y-%m-%dT%H:%M:%S}{fraction}{zone}"


def object_type(name: str, is_dir: bool) -> int:
    """Return OpenList's `type` number for a name (0 unknown, 1 folder, 2 video, ...)."""
    if is_dir:
        return FOLDER
    return _TYPES_BY_EXT.get(posixpath.splitext(name)[1].lstrip(".").lower(), 0)


def _storage_path(standin: OpenListStandIn, user: User, body: dict) -> str:
    path = str(body.get("path") or "/")
    # OpenList's JoinBasePath refuses ".." outright rather than cleaning it away.
    if ".." in path.split("/"):
        raise ApiError(403, "relative path is not allowed")
    abs_path = clean_path(f"{user.base_path}/{path}")
    # Admins may skip folder passwords (CanAccessWithoutPassword); the refusal is an envelope
    # code 403, the same message whether the password was missing or wrong.
    guard = standin.guarding_password(abs_path)
    if guard is not None and user.role != ADMIN and body.get("password", "") != guard:
        raise ApiError(403, "password is incorrect or you have no permission")
    return abs_path


def _children(standin: OpenListStandIn, abs_path: str) -> list[Entry]:
    try:
        return standin.tree.list(abs_path)
    except FileNotFoundError:
        raise ApiError(500, "failed get objs: object not found") from None
    except NotADirectoryError:
        raise ApiError(500, "failed get objs: not a folder") from None


def _page_request(body: dict) -> tuple[int, int]:
    # model.PageReq.Validate: page < 1 means 1, per_page < 1 means everything.
    page = _int(body.get("page"))
    per_page = _int(body.get("per_page"))
    return max(page, 1), per_page if per_page >= 1 else 1 << 62


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


def _item(standin: OpenListStandIn, entry: Entry, signed: bool) -> dict:
    signed = signed and not entry.is_dir
    return {
        "name": entry.name,
        "size": entry.size,
        "is_dir": entry.is_dir,
        "modified": go_time(entry.mtime_ns, standin.tz),
        "created": go_time(entry.ctime_ns, standin.tz),
        "sign": standin.sign(entry.path) if signed else "",
        "thumb": "",
        "type": object_type(entry.name, entry.is_dir),
        "hashinfo": "null",
        "hash_info": None,
    }
