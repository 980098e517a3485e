"""One user's library on Emby or Jellyfin: its users, an index by provider ids, played state.

What the Trakt kind needs (DESIGN.md §9). Nothing here marks an item unplayed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote

import requests

from strmsync.errors import FatalError, FileError, RetryableError
from strmsync.mediaserver.server import MediaServer, _Client, _label, _Problem

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
ITEM_TYPES = ("Movie", "Episode", "Series")
MOVIE, EPISODE, SERIES = ITEM_TYPES
# The order ids are tried in (DESIGN.md §9): IMDb ids name one title whatever its type;
# TMDb movie and TV ids overlap, so every lookup below is kept to one item type.
MOVIE_IDS = ("imdb", "tmdb")
EPISODE_IDS = ("tvdb", "tmdb", "imdb")
SERIES_IDS = ("tvdb", "tmdb", "imdb")


@dataclass
class LibraryItem:
    """A movie, series or episode as the media server shows it to one user."""

    id: str
    type: str
    name: str
    year: int | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)
    series_id: str | None = None
    season: int | None = None
    episode: int | None = None
    played: bool = False
    # A file holding several episodes ("S01E01-E02") ends at this number.
    episode_end: int | None = None


class ItemIndex:
    """A user's movies, series and episodes, found by the ids Trakt gives."""

    def __init__(self, items: list[LibraryItem]) -> None:
        self.items = items
        self._by_id: dict[tuple[str, str, str], list[LibraryItem]] = {}
        self._episodes: dict[tuple[str, int, int], list[LibraryItem]] = {}
        for item in items:
            self._add(item)

    @classmethod
    def build(
        cls,
        server: MediaServer,
        user_id: str,
        session: requests.Session | None = None,
        page_size: int = PAGE_SIZE,
        on_page: Callable[[int, int | None], None] | None = None,
    ) -> ItemIndex:
        """Read the user's whole library page by page; `on_page(fetched, total)` after each."""
        items: dict[str, LibraryItem] = {}
        with _talking_to(server, session) as client:
            for raw_items, fetched, total in _pages(client, user_id, page_size):
                for item in filter(None, map(_item, raw_items)):
                    items.setdefault(item.id, item)
                if on_page is not None:
                    on_page(fetched, total)
        log.info("%s: %d library items for user %s", _label(server), len(items), user_id)
        return cls(list(items.values()))

    def __len__(self) -> int:
        return len(self.items)

    def movie(self, ids: dict) -> LibraryItem | None:
        """The movie with these Trakt ids: by IMDb, then by TMDb."""
        return next(iter(self.movies(ids)), None)

    def movies(self, ids: dict) -> list[LibraryItem]:
        """Every copy of the movie (a 4K and an HD library hold one each)."""
        return self._first_found(MOVIE, MOVIE_IDS, ids)

    def episode(self, ids: dict, show_ids: dict, season: int, number: int) -> LibraryItem | None:
        """The episode by its own ids, else by its series' ids, season and number."""
        return next(iter(self.episodes(ids, show_ids, season, number)), None)

    def episodes(self, ids: dict, show_ids: dict, season: int, number: int) -> list[LibraryItem]:
        """Every copy of the episode, found as `episode` finds it."""
        found = self._first_found(EPISODE, EPISODE_IDS, ids)
        if found:
            return found
        for series in self._first_found(SERIES, SERIES_IDS, show_ids):
            found.extend(self._episodes.get((series.id, season, number), ()))
        return found

    def _first_found(self, kind: str, providers: tuple[str, ...], ids: dict) -> list[LibraryItem]:
        for provider in providers:
            value = _id_value((ids or {}).get(provider))
            found = self._by_id.get((kind, provider, value)) if value else None
            if found:
                return list(found)
        return []

    def _add(self, item: LibraryItem) -> None:
        for provider, value in item.provider_ids.items():
            self._by_id.setdefault((item.type, provider, value), []).append(item)
        if item.type == EPISODE and item.series_id and None not in (item.season, item.episode):
            last = max(item.episode, item.episode_end or item.episode)
            for number in range(item.episode, last + 1):
                key = (item.series_id, item.season, number)
                self._episodes.setdefault(key, []).append(item)


def list_users(server: MediaServer, session: requests.Session | None = None) -> list[dict]:
    """The server's users as `[{"id", "name"}]`."""
    with _talking_to(server, session) as client:
        raw_users = _users(client)
    return [
        {"id": str(user["Id"]), "name": str(user.get("Name") or "")}
        for user in raw_users
        if isinstance(user, dict) and user.get("Id")
    ]


def mark_played(
    server: MediaServer,
    user_id: str,
    item_id: str,
    when: datetime,
    session: requests.Session | None = None,
) -> None:
    """Mark one item played for one user, on the date it was watched."""
    user, item = quote(str(user_id), safe=""), quote(str(item_id), safe="")
    when = _utc(when)
    with _talking_to(server, session) as client:
        try:
            if server.kind == "emby":
                # Emby documents DatePlayed as yyyyMMddHHmmss (Emby.SDK PlaystateService).
                date = {"DatePlayed": when.strftime("%Y%m%d%H%M%S")}
                client.send("POST", f"/Users/{user}/PlayedItems/{item}", params=date)
            else:
                _mark_played_jellyfin(client, user, item, when)
        except _Problem as problem:
            if problem.status != 404:
                raise
            raise FileError(
                f"{_label(server)}: no item {item_id} for user {user_id} (404)"
            ) from None


def _mark_played_jellyfin(client: _Client, user: str, item: str, when: datetime) -> None:
    """Jellyfin 10.9 moved the route to /UserPlayedItems; 10.8 knows only the old one."""
    date = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    try:
        client.send("POST", f"/UserPlayedItems/{item}", params={"userId": user, "datePlayed": date})
    except _Problem as problem:
        if problem.status != 404:
            raise
        # 10.9+ keeps the old route too, so a second 404 means the item or user is unknown.
        client.send("POST", f"/Users/{user}/PlayedItems/{item}", params={"datePlayed": date})


@contextmanager
def _talking_to(server: MediaServer, session: requests.Session | None) -> Iterator[_Client]:
    """A client whose server problems come out as strmsync errors naming the server."""
    client = _Client(server, session)
    try:
        yield client
    except _Problem as problem:
        message = f"{_label(server)}: {problem}"
        network = isinstance(problem.__cause__, requests.RequestException)
        if network or (problem.status or 0) >= 500:
            raise RetryableError(message) from None
        raise FatalError(message) from None
    finally:
        client.close()


def _users(client: _Client) -> list:
    """The raw user list: Emby documents /Users/Query; older Emby and Jellyfin have /Users."""
    data = None
    if client.server.kind == "emby":
        try:
            data = client.get_json("/Users/Query")
        except _Problem as problem:
            if problem.status != 404:
                raise
    if data is None:
        data = client.get_json("/Users")
    users = data.get("Items") if isinstance(data, dict) else data
    if not isinstance(users, list):
        raise _Problem("unexpected answer to GET /Users")
    return users


def _pages(client: _Client, user_id: str, page_size: int) -> Iterator[tuple[list, int, int | None]]:
    """Each page of the user's items, with how many were fetched so far and the total."""
    server = client.server
    route, params = _items_query(server, user_id)
    fetched, seen = 0, set()
    while True:
        query = {**params, _name(server, "StartIndex"): fetched, _name(server, "Limit"): page_size}
        raw_items, total = _page(client.get_json(route, query), route)
        fetched += len(raw_items)
        ids = {raw.get("Id") for raw in raw_items if isinstance(raw, dict)}
        yield raw_items, fetched, total
        # A page that brings nothing new ends the walk, even when the count promised more.
        if not ids - seen or (total is not None and fetched >= total):
            return
        seen |= ids


def _items_query(server: MediaServer, user_id: str) -> tuple[str, dict]:
    """Each product's route for a user's items; with the user, UserData.Played comes back."""
    params = {
        _name(server, "Recursive"): "true",
        _name(server, "IncludeItemTypes"): ",".join(ITEM_TYPES),
        _name(server, "Fields"): "ProviderIds",
        _name(server, "EnableUserData"): "true",
    }
    if server.kind == "emby":
        return f"/Users/{quote(str(user_id), safe='')}/Items", params
    # Jellyfin 10.9 moved the user to a query parameter; /Items?userId= works since 10.7.
    return "/Items", {"userId": str(user_id), **params}


def _name(server: MediaServer, name: str) -> str:
    """A query name as each product documents it (both bind names case-insensitively)."""
    return name if server.kind == "emby" else name[0].lower() + name[1:]


def _page(data: object, route: str) -> tuple[list, int | None]:
    if not isinstance(data, dict) or not isinstance(data.get("Items"), list):
        raise _Problem(f"unexpected answer to GET {route}")
    total = data.get("TotalRecordCount")
    return data["Items"], total if type(total) is int else None


def _item(raw: object) -> LibraryItem | None:
    """One item of a page, or None for anything we cannot use."""
    if not isinstance(raw, dict) or not raw.get("Id") or raw.get("Type") not in ITEM_TYPES:
        return None
    provider_ids = raw.get("ProviderIds") if isinstance(raw.get("ProviderIds"), dict) else {}
    user_data = raw.get("UserData") if isinstance(raw.get("UserData"), dict) else {}
    return LibraryItem(
        id=str(raw["Id"]),
        type=raw["Type"],
        name=str(raw.get("Name") or ""),
        year=_whole(raw.get("ProductionYear")),
        provider_ids={
            str(key).lower(): value
            for key, value in ((k, _id_value(v)) for k, v in provider_ids.items())
            if value
        },
        series_id=str(raw["SeriesId"]) if raw.get("SeriesId") else None,
        season=_whole(raw.get("ParentIndexNumber")),
        episode=_whole(raw.get("IndexNumber")),
        played=user_data.get("Played") is True,
        episode_end=_whole(raw.get("IndexNumberEnd")),
    )


def _id_value(value: object) -> str:
    """A provider id as compared: Trakt sends numbers, the media servers send text."""
    if value is None or isinstance(value, bool):
        return ""
    return str(value).strip().lower()


def _whole(value: object) -> int | None:
    return value if type(value) is int else None


def _utc(when: datetime) -> datetime:
    """An aware time in UTC; a naive time is taken as UTC already."""
    return (
        when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    )
