"""`strmsync source add|list|test|remove`."""

import argparse
import json
import os

from strmsync.cli.output import print_table, run_action
from strmsync.errors import ConfigError
from strmsync.service.kinds import test_source
from strmsync.sources import public_source, validate_source
from strmsync.store import Store

SECRET_ENV = {"token": "STRMSYNC_SOURCE_TOKEN", "password": "STRMSYNC_SOURCE_PASSWORD",
              "folder_passwords": "STRMSYNC_SOURCE_FOLDER_PASSWORDS"}


def register(commands) -> None:
    """Add the `source` sub-command group."""
    p = commands.add_parser("source", help="manage sources (local, openlist, clouddrive2, smb)")
    p.add_argument("--data", help="data directory")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="add a source")
    add.add_argument("name")
    add.add_argument("--kind", required=True, choices=("local", "openlist", "clouddrive2", "smb"))
    add.add_argument("--root", help="local: the mounted directory")
    add.add_argument("--url", help="openlist: site URL, e.g. http://nas:5244")
    add.add_argument("--address", help="clouddrive2: host:port, e.g. nas:19798")
    add.add_argument("--host", help="smb: the server, e.g. nas.local")
    add.add_argument("--port", type=int, help="smb: the server's port (default 445)")
    add.add_argument("--share", help="smb: the share's name, e.g. media")
    add.add_argument("--path", help="smb: a folder inside the share (default: the share)")
    add.add_argument("--domain", help="smb: the user's domain or workgroup")
    add.add_argument("--encrypt", action="store_true", help="smb: SMB3 encryption (default off)")
    add.add_argument("--username")
    add.add_argument("--token", help=f"API token (or ${SECRET_ENV['token']})")
    add.add_argument("--password", help=f"password (or ${SECRET_ENV['password']})")
    add.add_argument("--folder-password", action="append", metavar="/PATH=PASSWORD",
                     help="openlist: the password of a protected folder (and those below it),"
                          " the path as the OpenList user sees it; repeatable (or"
                          f" ${SECRET_ENV['folder_passwords']}, one a line)")
    add.add_argument("--fallback-source",
                     help="local: an API source to read metadata from when the mount fails")
    add.add_argument("--fallback-root", help="local: where the root sits in the fallback source")
    add.add_argument("--event-map",
                     help="webhook paths to ours, e.g. /115open=/mnt/cd2/115open (comma-separated)")
    add.add_argument("--qps", type=float, help="requests per second (0 = unlimited)")
    add.add_argument("--concurrency", type=int, help="parallel requests; local: folders"
                     " listed at once (default 8)")
    sub.add_parser("list", help="list sources").add_argument("--json", action="store_true")
    sub.add_parser("test", help="test a source's connection").add_argument("name")
    sub.add_parser("remove", help="remove a source without jobs").add_argument("name")
    p.set_defaults(handler=run_source)


def run_source(args: argparse.Namespace, parser) -> int:
    """Dispatch a `source` action."""
    actions = {"add": _add, "list": _list, "test": _test, "remove": _remove}
    return run_action("source", args, actions)


def _add(store: Store, args, settings=None) -> int:
    data = {k: v for k, v in {
        "name": args.name, "kind": args.kind, "root": args.root, "url": args.url,
        "address": args.address, "username": args.username, "qps": args.qps,
        "host": args.host, "port": args.port, "share": args.share, "path": args.path,
        "domain": args.domain, "encrypt": args.encrypt or None,
        "fallback_source": args.fallback_source, "fallback_root": args.fallback_root,
        "event_map": args.event_map,
        "concurrency": args.concurrency,
        "token": args.token or os.environ.get(SECRET_ENV["token"]),
        "password": args.password or os.environ.get(SECRET_ENV["password"]),
        "folder_passwords": args.folder_password or (
            os.environ.get(SECRET_ENV["folder_passwords"]) if args.kind == "openlist" else None),
    }.items() if v is not None}
    values = validate_source(data)
    if store.source(values["name"]):
        raise ConfigError(f"name: a source called {values['name']!r} exists")
    source_id = store.add_source(values)
    print(f"source {values['name']} added (id {source_id})")
    return 0


def _list(store: Store, args, settings=None) -> int:
    rows = [public_source(row) for row in store.sources()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print_table(["id", "name", "kind", "where", "secrets"], [
        [r["id"], r["name"], r["kind"], r.get("root") or r.get("url") or r.get("address")
         or f"smb://{r.get('host')}:{r.get('port')}/{r.get('share')}/{r.get('path') or ''}",
         "enter the secret again" if r.get("secrets_error") else
         ",".join(r["secrets_set"]) or "-"] for r in rows])
    return 0


def _source(store: Store, name: str) -> dict:
    source = store.source(name)
    if source is None:
        raise ConfigError(f"source: no such source: {name!r}")
    return source


def _test(store: Store, args, settings=None) -> int:
    facts = test_source(_source(store, args.name))
    print(f"source {args.name}: ok " + " ".join(f"{k}={v}" for k, v in facts.items()))
    return 0


def _remove(store: Store, args, settings=None) -> int:
    source = _source(store, args.name)
    users = [job["name"] for job in store.jobs(source["id"])]
    if users:
        raise ConfigError(f"source: used by job(s) {', '.join(users)}; remove them first")
    store.delete_source(source["id"])
    print(f"source {args.name} removed")
    return 0
