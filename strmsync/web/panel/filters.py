"""Template filters and globals: times, durations, shares, the build and access."""

import time
from datetime import datetime

from flask import Flask, g

from strmsync import __version__

MIRROR_CHANGES = ("uploaded", "downloaded", "deleted_local", "deleted_remote")


def when(ts: float | None) -> str:
    """An epoch time as local `YYYY-MM-DD HH:MM:SS`, or an em dash."""
    if not ts:
        return "—"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def at(iso: str | None) -> str:
    """An ISO time (a schedule's next run) in the same form as `when`."""
    if not iso:
        return "—"
    return when(datetime.fromisoformat(iso).timestamp())


def ago(ts: float | None) -> str:
    """How long ago an epoch time was, in words (`just now`, `5 min ago`, `3 d ago`)."""
    if not ts:
        return "—"
    seconds = max(time.time() - ts, 0)
    if seconds < 10:
        return "just now"
    for limit, size, unit in ((60, 1, "s"), (3600, 60, "min"), (86400, 3600, "h")):
        if seconds < limit:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds // 86400)} d ago"


def duration(seconds: float | None) -> str:
    """A duration as `0.4 s`, `3 min 4 s` or `2 h 5 min`."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    return f"{minutes // 60} h {minutes % 60} min"


def share(value: float | None) -> str:
    """A share (0.1) as a percentage (`10%`)."""
    return "" if value is None else f"{value * 100:g}%"


def size(nbytes: float | None) -> str:
    """A number of bytes as `512 B`, `1.5 KB`, `3.2 MB`, `1.1 GB` (powers of 1024)."""
    if nbytes is None:
        return "—"
    value = float(nbytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def run_kind(run: dict) -> str:
    """The kind of job a run belongs to (set by the view), else what its counts say."""
    if run.get("kind"):
        return run["kind"]
    counts = run.get("counts") or {}
    return "mirror" if "uploaded" in counts else "trakt" if "fetched" in counts else "strm"


def run_mode(run: dict) -> str:
    """A run's mode as its kind names it (a mirror run has one; a trakt run syncs or
    re-syncs in full)."""
    kind = run_kind(run)
    if kind == "mirror":
        return "mirror"
    if kind == "trakt":
        return "full re-sync" if run.get("mode") == "full" else "sync"
    return run.get("mode") or ""


def changes(run: dict) -> int:
    """How many files a finished run changed (or, dry, would change), whatever its kind; a
    trakt run's changes are the items it marked played."""
    if run_kind(run) == "trakt":
        return int((run.get("counts") or {}).get("marked") or 0)
    if run_kind(run) == "mirror":
        counts = run.get("counts") or {}
        return sum(int(counts.get(name) or 0) for name in MIRROR_CHANGES)
    return sum(int(run.get(name) or 0) for name in ("created", "updated", "deleted"))


def init_app(app: Flask) -> None:
    """Register the filters and template globals."""
    app.jinja_env.filters.update(when=when, at=at, ago=ago, duration=duration, share=share,
                                 size=size, changes=changes)
    app.jinja_env.globals.update(version=__version__, access=lambda: g.get("access"),
                                 run_kind=run_kind, run_mode=run_mode)
