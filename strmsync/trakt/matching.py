"""Trakt history entries as the media server's items: pure functions over an item index."""

import hashlib
import json
from datetime import datetime, timezone


def parse_time(text: str | None) -> datetime | None:
    """A Trakt ISO time (`2026-12-01T20:15:00.000Z`) as an aware datetime."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def iso(when: datetime) -> str:
    """An aware datetime as Trakt writes it, to the millisecond with a Z."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") \
        + f"{when.microsecond // 1000:03d}Z"


def describe(entry: dict) -> dict:
    """What the record keeps of a history entry: type, title, year, season, episode, ids."""
    if entry.get("type") == "movie":
        movie = entry.get("movie") or {}
        return {"type": "movie", "title": movie.get("title"), "year": movie.get("year"),
                "ids": movie.get("ids") or {}}
    episode, show = entry.get("episode") or {}, entry.get("show") or {}
    return {"type": "episode", "title": show.get("title"), "year": show.get("year"),
            "season": episode.get("season"), "episode": episode.get("number"),
            "ids": {"episode": episode.get("ids") or {}, "show": show.get("ids") or {}}}


def find_item(index, entry: dict):
    """The library item a history entry (or a reconcile entry shaped like one) is about."""
    if entry.get("type") == "movie":
        return index.movie((entry.get("movie") or {}).get("ids") or {})
    episode, show = entry.get("episode") or {}, entry.get("show") or {}
    season, number = episode.get("season"), episode.get("number")
    if season is None or number is None:
        return None
    return index.episode(episode.get("ids") or {}, show.get("ids") or {}, season, number)


def label(entry: dict) -> str:
    """How a person names the entry: `Title (Year)` or `Show S01E02`."""
    shown = describe(entry)
    if shown["type"] == "movie":
        return f"{shown['title']} ({shown['year']})"
    return f"{shown['title']} S{shown.get('season') or 0:02d}E{shown.get('episode') or 0:02d}"


def watched_entries(movies: list, shows: list) -> list[dict]:
    """`/sync/watched` answers as history-shaped entries, each with a stable negative id
    (watched items have no history id; the record still keeps one row each)."""
    entries = []
    for row in movies:
        movie = row.get("movie") or {}
        entries.append({"id": _synthetic("movie", movie.get("ids")), "type": "movie",
                        "watched_at": row.get("last_watched_at"), "movie": movie})
    for row in shows:
        show = row.get("show") or {}
        for season in row.get("seasons") or []:
            for episode in season.get("episodes") or []:
                key = (show.get("ids"), season.get("number"), episode.get("number"))
                entries.append({
                    "id": _synthetic("episode", key), "type": "episode",
                    "watched_at": episode.get("last_watched_at") or row.get("last_watched_at"),
                    "show": show, "episode": {"season": season.get("number"),
                                              "number": episode.get("number"), "ids": {}}})
    return entries


def _synthetic(kind: str, key) -> int:
    digest = hashlib.sha1(f"{kind}:{json.dumps(key, sort_keys=True)}".encode()).digest()
    return -(int.from_bytes(digest[:8], "big") >> 1) - 1
