"""Shared set-up of the trakt tests: a Trakt stand-in, an Emby or Jellyfin stand-in with a
user and a library, and a trakt job linking them through the API."""

from datetime import datetime, timedelta, timezone

from strmsync.service.queue import connect
from strmsync.service.tasks import perform_run
from strmsync.store import Store

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=timezone.utc)


def add_server(client, standin, name="den") -> dict:
    response = client.post("/api/v1/mediaservers", json={
        "name": name, "kind": standin.kind, "url": standin.url, "api_key": standin.api_key})
    assert response.status_code == 201, response.json
    return response.json


def add_trakt_job(client, trakt, server, user_id, name="watched", **fields) -> dict:
    body = {"kind": "trakt", "name": name, "client_id": trakt.client_id,
            "client_secret": trakt.client_secret, "media_server": server["id"],
            "user": user_id, "options": {"api_url": trakt.url, **fields.pop("options", {})},
            **fields}
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.json
    return response.json


def link(data_dir, trakt, job_id: int, expires_in: float | None = None) -> dict:
    """Store tokens the stand-in issued, as a finished device flow would."""
    from strmsync.trakt.record import TraktRecord

    issued = trakt.issue_tokens(expires_in)
    tokens = {"access_token": issued["access_token"], "refresh_token": issued["refresh_token"],
              "created_at": issued["created_at"], "expires_in": issued["expires_in"]}
    store = Store(data_dir / "strmsync.db")
    try:
        TraktRecord(store, job_id).save_tokens(tokens)
    finally:
        store.close()
    return tokens


def run(data_dir, redis_url, job_id: int, mode: str = "incremental",
        dry_run: bool = False) -> dict:
    """One run of the job in this process, through the service's run path."""
    store, conn = Store(data_dir / "strmsync.db"), connect(redis_url)
    try:
        run_id = store.create_run(job_id, mode, "manual", dry_run)
        perform_run(store, conn, run_id)
        return store.run(run_id)
    finally:
        conn.close()
        store.close()


def library(standin, movies: int, shows: int = 0, episodes_per_show: int = 20):
    """A library matching the stand-in Trakt's `fill_history` ids; returns the user id."""
    user = standin.add_user("alice")
    for n in range(movies):
        standin.add_movie(f"Movie {n}", 1990 + n % 30, imdb=f"tt{n:07d}", tmdb=str(n + 1))
    for show in range(1, shows + 1):
        series = standin.add_series(f"Show {show}", 2008, tvdb=str(70000 + show))
        for number in range(1, episodes_per_show + 1):
            standin.add_episode(series, 1, number)
    return user


def ago(**kwargs) -> datetime:
    return NOW - timedelta(**kwargs)
