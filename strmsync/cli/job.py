"""`strmsync job add|edit|list|show|run|remove`."""

import argparse
import json
import sys
import time

from rq import Worker

from strmsync.cli.options import add_sync_flags, option_values
from strmsync.cli.output import print_table, run_action
from strmsync.cli.sync import EXIT_CODES
from strmsync.errors import ConfigError
from strmsync.jobs import public_job, validate_job
from strmsync.servers import resolve_servers
from strmsync.service.queue import EmbeddedRedis, connect, enqueue_run, redis_url, run_queue
from strmsync.store import FINAL_STATUSES, Store

EXIT_NO_WORKER = 5
EXIT_INTERRUPTED = 130


def register(commands) -> None:
    """Add the `job` sub-command group."""
    p = commands.add_parser("job", help="manage jobs and run them through the queue")
    p.add_argument("--data", help="data directory")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name in ("add", "edit"):
        q = sub.add_parser(name, help=f"{name} a job")
        q.add_argument("name")
        q.add_argument("--source", required=name == "add", help="source name or id")
        q.add_argument("--from", dest="source_root", required=name == "add",
                       help="path in the source to mirror")
        q.add_argument("--to", dest="target_root", required=name == "add",
                       help="target directory for the .strm tree")
        q.add_argument("--schedule", help="cron expression, e.g. '0 3 * * *' ('' to clear)")
        unchanged = " (default: unchanged)" if name == "edit" else ""
        q.add_argument("--run-on-start", choices=("yes", "no"),
                       help="run when the service starts" + (unchanged or " (default: no)"))
        q.add_argument("--watch", choices=("yes", "no"),
                       help="watch a local source for changes" + (unchanged or " (default: no)"))
        q.add_argument("--enabled", choices=("yes", "no"),
                       help="run on schedule and events" + (unchanged or " (default: yes)"))
        q.add_argument("--media-servers", help="media servers to notify, comma-separated")
        add_sync_flags(q)
    sub.add_parser("list", help="list jobs").add_argument("--json", action="store_true")
    sub.add_parser("show", help="show one job").add_argument("name")
    run = sub.add_parser("run", help="queue a run of a job")
    run.add_argument("name")
    run.add_argument("--mode", choices=("full", "incremental"),
                     help="default: the job's strategy")
    run.add_argument("--dry-run", action="store_true")
    run.add_argument("--wait", action="store_true", help="wait for the run to end")
    sub.add_parser("remove", help="remove a job (its files stay)").add_argument("name")
    p.set_defaults(handler=run_job_command)


def run_job_command(args: argparse.Namespace, parser) -> int:
    """Dispatch a `job` action."""
    actions = {"add": _save, "edit": _save, "list": _list, "show": _show, "run": _run,
               "remove": _remove}
    return run_action("job", args, actions)


def _job(store: Store, name: str) -> dict:
    job = store.job(name)
    if job is None:
        raise ConfigError(f"job: no such job: {name!r}")
    return job


def _save(store: Store, args, settings) -> int:
    data = {"name": args.name, "options": option_values(args)}
    for key in ("source", "source_root", "target_root", "schedule"):
        if getattr(args, key, None) is not None:
            data[key] = getattr(args, key)
    for flag in ("run_on_start", "watch", "enabled"):
        if getattr(args, flag, None) is not None:
            data[flag] = getattr(args, flag) == "yes"
    existing = _job(store, args.name) if args.action == "edit" else None
    if existing is None and store.job(args.name):
        raise ConfigError(f"name: a job called {args.name!r} exists")
    values = validate_job(data, store, existing)
    servers = resolve_servers(args.media_servers, store) if args.media_servers is not None \
        else None
    if existing:
        job_id = existing["id"]
        store.update_job(job_id, values)
        print(f"job {args.name} updated")
    else:
        job_id = store.add_job(values)
        print(f"job {args.name} added (id {job_id})")
    if servers is not None:
        store.set_job_servers(job_id, servers)
    return 0


def _list(store: Store, args, settings) -> int:
    jobs = [public_job(job, store.source(job["source_id"]), store.job_servers(job["id"]))
            for job in store.jobs()]
    if args.json:
        print(json.dumps(jobs, indent=2))
        return 0
    print_table(["id", "name", "source", "from", "to", "schedule", "next run"], [
        [j["id"], j["name"], j["source"], j["source_root"], j["target_root"],
         j["schedule"] or "-", (j["next_runs"] or ["-"])[0]] for j in jobs])
    return 0


def _show(store: Store, args, settings) -> int:
    job = _job(store, args.name)
    shown = public_job(job, store.source(job["source_id"]), store.job_servers(job["id"]))
    shown["recent_runs"], _ = store.runs(job["id"], limit=5)
    print(json.dumps(shown, indent=2, default=str))
    return 0


def _run(store: Store, args, settings) -> int:
    job = _job(store, args.name)
    mode = args.mode or job["options"].get("strategy", "full")
    # Without REDIS_URL and with no service running, this starts the embedded Redis itself;
    # then it stops it again on the way out (the queued run is kept on disk for the service).
    embedded = None if settings.redis_url else EmbeddedRedis(settings.data_dir)
    conn = connect(redis_url(settings, embedded))
    try:
        run_id, queued = enqueue_run(store, conn, job["id"], mode, "manual", args.dry_run)
        print(f"run {run_id} {'queued' if queued else 'was already queued'}")
        if not Worker.all(queue=run_queue(conn)):
            print("no worker is running to take it: start `strmsync serve` (or `strmsync"
                  " worker` with REDIS_URL); it stays queued until then", file=sys.stderr)
            if args.wait:
                return EXIT_NO_WORKER
        return _wait(store, run_id) if args.wait else 0
    except KeyboardInterrupt:
        print(f"\nstopped waiting; run {run_id} goes on (strmsync job show {args.name})",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        conn.close()
        if embedded is not None:
            embedded.stop()


def _wait(store: Store, run_id: int) -> int:
    while (run := store.run(run_id))["status"] not in FINAL_STATUSES:
        time.sleep(0.5)
    print(f"run {run_id}: {run['status']}  created {run['created']}  updated {run['updated']}"
          f"  unchanged {run['skipped']}  deleted {run['deleted']}  failed {run['failed']}")
    return EXIT_CODES[run["status"]]


def _remove(store: Store, args, settings) -> int:
    store.delete_job(_job(store, args.name)["id"])
    print(f"job {args.name} removed (its files stay where they are)")
    return 0
