"""Per-request access to the store and the queue's Redis (the flaskr way)."""

from flask import Flask, current_app, g

from strmsync.service.queue import connect
from strmsync.store import Store


def get_store() -> Store:
    """This request's Store (one SQLite connection per request, closed at teardown)."""
    if "store" not in g:
        g.store = Store(current_app.config["STRMSYNC_SETTINGS"].database_path)
    return g.store


def get_redis():
    """The app's Redis client (thread-safe, shared by requests)."""
    client = current_app.extensions.get("strmsync.redis")
    if client is None:
        url = current_app.config["STRMSYNC_REDIS_URL"]
        if not url:
            raise RuntimeError("no Redis configured for this app")
        client = current_app.extensions["strmsync.redis"] = connect(url)
    return client


def close_redis(app: Flask) -> None:
    """Close the app's Redis client, for an app that ends before its process does (a test's):
    left to the garbage collector, its socket may be finalised before the client is."""
    client = app.extensions.pop("strmsync.redis", None)
    if client is not None:
        client.close()


def close_store(_exc=None) -> None:
    """Close the request's Store, if one was opened."""
    store = g.pop("store", None)
    if store is not None:
        store.close()


def init_app(app: Flask) -> None:
    """Register teardown."""
    app.teardown_appcontext(close_store)
