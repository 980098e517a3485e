"""`strmsync mediaserver add|list|test|remove`."""

import argparse
import json
import os

from strmsync.cli.output import print_table, run_action
from strmsync.errors import ConfigError
from strmsync.mediaserver import test_server
from strmsync.servers import public_server, resolve_servers, to_media_server, validate_server
from strmsync.store import Store


def register(commands) -> None:
    """Add the `mediaserver` sub-command group."""
    p = commands.add_parser("mediaserver", help="manage Emby/Jellyfin servers to notify")
    p.add_argument("--data", help="data directory")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="add a media server")
    add.add_argument("name")
    add.add_argument("--kind", required=True, choices=("emby", "jellyfin"))
    add.add_argument("--url", required=True, help="e.g. http://jellyfin:8096")
    add.add_argument("--api-key", help="API key (or $STRMSYNC_MEDIASERVER_KEY)")
    add.add_argument("--path-map", help="our=their path pairs, e.g. /media/strm=/mnt/strm")
    add.add_argument("--refresh-threshold", type=int,
                     help="above this many changed folders, refresh libraries (default 50)")
    add.add_argument("--jobs", help="jobs that notify this server, comma-separated")
    sub.add_parser("list", help="list media servers").add_argument("--json", action="store_true")
    sub.add_parser("test", help="check the key and list libraries").add_argument("name")
    sub.add_parser("remove", help="remove a media server").add_argument("name")
    p.set_defaults(handler=run_mediaserver)


def run_mediaserver(args: argparse.Namespace, parser) -> int:
    """Dispatch a `mediaserver` action."""
    actions = {"add": _add, "list": _list, "test": _test, "remove": _remove}
    return run_action("mediaserver", args, actions)


def _server(store: Store, name: str) -> dict:
    server = store.server(name)
    if server is None:
        raise ConfigError(f"mediaserver: no such media server: {name!r}")
    return server


def _add(store: Store, args, settings=None) -> int:
    values = validate_server({
        "name": args.name, "kind": args.kind, "url": args.url,
        "api_key": args.api_key or os.environ.get("STRMSYNC_MEDIASERVER_KEY", ""),
        "path_map": args.path_map, "refresh_threshold": args.refresh_threshold})
    if store.server(values["name"]):
        raise ConfigError(f"name: a media server called {values['name']!r} exists")
    jobs = [store.job(name) for name in (args.jobs or "").split(",") if name.strip()]
    if None in jobs:
        raise ConfigError(f"jobs: no such job among {args.jobs!r}")
    server_id = store.add_server(values)
    for job in jobs:
        current = [s["id"] for s in store.job_servers(job["id"])]
        store.set_job_servers(job["id"], resolve_servers(current + [server_id], store))
    print(f"media server {values['name']} added (id {server_id})")
    return 0


def _list(store: Store, args, settings=None) -> int:
    rows = [public_server(row) for row in store.servers()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print_table(["id", "name", "kind", "url", "path map"], [
        [r["id"], r["name"], r["kind"], r["url"],
         ", ".join(f"{a}={b}" for a, b in r["path_map"]) or "-"] for r in rows])
    return 0


def _test(store: Store, args, settings=None) -> int:
    facts = test_server(to_media_server(_server(store, args.name)))
    names = ", ".join(lib["name"] for lib in facts.get("libraries", []))
    print(f"media server {args.name}: ok, {facts.get('name')} {facts.get('version')};"
          f" libraries: {names or 'none'}")
    return 0


def _remove(store: Store, args, settings=None) -> int:
    store.delete_server(_server(store, args.name)["id"])
    print(f"media server {args.name} removed")
    return 0
