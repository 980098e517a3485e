"""`strmsync sync SOURCE TARGET`: one sync, right now, in this process."""

import argparse
import hashlib
import json
import os
import signal
import sys
import threading

from strmsync.cli.options import add_sync_flags, option_values
from strmsync.cli.progressbar import ProgressBar
from strmsync.cli.source_url import (
    FOLDER_PASSWORDS_ENV,
    TOKEN_ENV,
    RemoteSource,
    is_source_url,
    parse_source_url,
)
from strmsync.config import SyncOptions, load_settings
from strmsync.errors import ConfigError
from strmsync.store import Store
from strmsync.strm.drivers import LocalDriver, open_remote
from strmsync.strm.engine import JobSpec, Progress, Run

EXIT_CODES = {"succeeded": 0, "failed": 1, "partial": 3, "cancelled": 4}
EXIT_USAGE = 2
SHOWN_CHANGES = 50


def register(commands) -> None:
    """Add the `sync` sub-command."""
    p = commands.add_parser("sync", help="sync SOURCE into TARGET once",
                            description="Mirror SOURCE as .strm files (plus metadata) in TARGET.")
    p.add_argument("source", help="a local directory (a mount), or a remote source:"
                   " openlist[s]://[user:pass@]host:port/path or"
                   " clouddrive2://[user:pass@]host:port/path")
    p.add_argument("target", help="the directory that receives the .strm tree")
    add_sync_flags(p)
    p.add_argument("--token", help=f"remote source: API token (or ${TOKEN_ENV['openlist']}"
                                   f" / ${TOKEN_ENV['clouddrive2']})")
    p.add_argument("--folder-password", action="append", metavar="/PATH=PASSWORD",
                   help="openlist source: the password of a protected folder (and those below"
                        " it), the path as the OpenList user sees it; repeatable (or"
                        f" ${FOLDER_PASSWORDS_ENV}, one a line)")
    p.add_argument("--qps", type=float, help="remote source: API requests per second"
                   " (default 0: no limit)")
    p.add_argument("--list-concurrency", type=int,
                   help="folders listed at once (a remote source: API requests in flight;"
                        " default: the --concurrency value if given, else 8)")
    p.add_argument("--dry-run", action="store_true", help="plan and report, write nothing")
    p.add_argument("--data", help="data directory (default: $STRMSYNC_DATA or XDG data dir)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the result")
    p.set_defaults(handler=run_sync)


def check_roots(source: str, target: str) -> None:
    """Refuse a source that is not a directory and roots that contain each other."""
    if not os.path.isdir(source):
        raise ConfigError(f"source: not a directory: {source}")
    if source == target or target.startswith(source.rstrip("/") + "/"):
        raise ConfigError("target: must not be inside the source (it would sync itself)")
    if source.startswith(target.rstrip("/") + "/"):
        raise ConfigError("target: must not contain the source")


def run_sync(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run one sync and print its summary; the exit code tells how it ended."""
    target = os.path.realpath(args.target)
    try:
        options = SyncOptions.from_dict(option_values(args))
        remote = _remote_source(args)
        source = remote.root if remote else os.path.realpath(args.source)
        if remote is None:
            check_roots(source, target)
            _list_concurrency(args)  # checked here: a remote source's is checked with it
    except ConfigError as exc:
        print(f"strmsync sync: {exc}", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings(args.data)
    store = Store(settings.database_path)
    try:
        summary = _execute(store, source, target, options, args, remote)
    finally:
        store.close()
    print(json.dumps(summary.to_dict()) if args.json else _describe(summary))
    return EXIT_CODES[summary.status]


def _remote_source(args: argparse.Namespace) -> RemoteSource | None:
    if not is_source_url(args.source):
        if args.folder_password:
            raise ConfigError("folder_passwords: only openlist:// sources have folder passwords")
        return None
    from strmsync.sources import validate_source  # pydantic: only a remote source needs it

    remote = parse_source_url(args.source, args.token, folder_passwords=args.folder_password)
    validate_source({"name": remote.record_name, "kind": remote.kind, **remote.config,
                     **remote.secrets, "qps": args.qps or 0,
                     "concurrency": _list_concurrency(args)})
    return remote


def _list_concurrency(args: argparse.Namespace) -> int:
    # --concurrency is the run's file concurrency; unless told apart, the source gets it too.
    if args.list_concurrency is None:
        return int(args.concurrency) if args.concurrency else 8
    if not 1 <= args.list_concurrency <= 64:
        raise ConfigError("list_concurrency: must be between 1 and 64")
    return args.list_concurrency


def _source_record(store: Store, remote: RemoteSource | None, source: str,
                   args: argparse.Namespace) -> dict:
    if remote is None:
        source_id = store.ensure_source(f"local:{source}", "local", {"root": source},
                                        one_shot=True)
        return store.source(source_id, one_shot=True)
    # No secrets in the record: those given for this run stay in this process.
    source_id = store.ensure_source(remote.record_name, remote.kind, remote.config,
                                    one_shot=True)
    store.update_source(source_id, {"qps": args.qps or 0,
                                    "concurrency": _list_concurrency(args)})
    return {**store.source(source_id, one_shot=True), "secrets": remote.secrets}


def _open_driver(record: dict, source: str, options: SyncOptions, workers: int):
    if record["kind"] == "local":
        return LocalDriver(source, options.mount_prefix, options.url_base, workers=workers)
    return open_remote(record, source, options.mount_prefix, options.url_base)


def _execute(store: Store, source: str, target: str, options: SyncOptions, args,
             remote: RemoteSource | None):
    record = _source_record(store, remote, source, args)
    key = hashlib.sha1(target.encode()).hexdigest()[:12]
    job_id = store.ensure_job(f"cli-{key}", record["id"], source, target, options.to_dict(),
                              one_shot=True)
    run_id = store.create_run(job_id, options.strategy, "manual", args.dry_run, "running")
    bar = ProgressBar() if sys.stderr.isatty() and not args.json else None
    cancel = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    driver = _open_driver(record, source, options, _list_concurrency(args))
    try:
        run = Run(store, run_id, JobSpec(job_id, target, options, f"sync into {target}"),
                  driver, options.strategy,
                  args.dry_run, Progress(callback=bar), cancel)
        return run.execute()
    finally:
        signal.signal(signal.SIGINT, previous)
        driver.close()
        if bar:
            bar.close()


def _describe(summary) -> str:
    c = summary.counts
    lines = [f"strmsync: {summary.status} in {summary.duration_s:.2f} s"
             + (" (dry run: nothing written)" if summary.dry_run else ""),
             f"  created {c['created']}  updated {c['updated']}  unchanged {c['skipped']}"
             f"  deleted {c['deleted']}  failed {c['failed']}  meta copied {c['meta_copied']}"]
    if summary.error:
        lines.append(f"  problem: {summary.error}")
    if summary.dry_run and summary.changes:
        lines.append("  planned changes:")
        lines += [f"    {action:<7} {path}" for action, _, path in
                  summary.changes[:SHOWN_CHANGES]]
        if len(summary.changes) > SHOWN_CHANGES:
            lines.append(f"    … and {len(summary.changes) - SHOWN_CHANGES} more")
    return "\n".join(lines)
