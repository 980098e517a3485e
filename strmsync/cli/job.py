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
from strmsync.service.kinds import kind_of
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
        if name == "add":
            q.add_argument("--kind", choices=("strm", "mirror"), default="strm",
                           help="strm: build a .strm tree from a source (default); mirror: keep"
                                " a local folder in step with a folder on an smb source")
        q.add_argument("--source", help="source name or id (required for a new job)")
        q.add_argument("--from", dest="source_root",
                       help="strm: path in the source to build the tree from")
        q.add_argument("--to", dest="target_root",
                       help="strm: target directory for the .strm tree")
        q.add_argument("--local", dest="local_root", help="mirror: the local folder")
        q.add_argument("--remote-path",
                       help="mirror: folder inside the smb source's folder (default: itself)")
        q.add_argument("--conflict", choices=("keep-both", "newer", "local", "remote"),
                       help="mirror: a file changed on both sides (default keep-both)")
        q.add_argument("--trash-days", type=int,
                       help="mirror: days replaced or deleted files stay in .strmsync-trash"
                            " (default 30)")
        q.add_argument("--then", help="jobs to run after a run of this one succeeds,"
                                      " comma-separated ('' to clear)")
        q.add_argument("--schedule", help="cron expression, e.g. '0 3 * * *' ('' to clear)")
        unchanged = " (default: unchanged)" if name == "edit" else ""
        q.add_argument("--run-on-start", choices=("yes", "no"),
                       help="run when the service starts" + (unchanged or " (default: no)"))
        q.add_argument("--watch", choices=("yes", "no"),
                       help="watch a local source for changes" + (unchanged or " (default: no)"))
        q.add_argument("--enabled", choices=("yes", "no"),
                       help="run on schedule and events" + (unchanged or " (default: yes)"))
        q.add_argument("--media-servers", help="media servers to notify, comma-separated")
        add_sync_flags(q, mirror=True)
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
    existing = _job(store, args.name) if args.action == "edit" else None
    kind = existing["kind"] if existing else args.kind
    data = {"name": args.name, "kind": kind}
    data.update(_mirror_fields(args) if kind == "mirror" else _strm_fields(args))
    for key in ("source", "schedule"):
        if getattr(args, key, None) is not None:
            data[key] = getattr(args, key)
    for flag in ("run_on_start", "watch", "enabled"):
        if getattr(args, flag, None) is not None:
            data[flag] = getattr(args, flag) == "yes"
    if args.then is not None:
        data["then"] = [name.strip() for name in args.then.split(",") if name.strip()]
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


MIRROR_FLAGS = {"local_root": "--local", "remote_path": "--remote-path",
                "conflict": "--conflict", "trash_days": "--trash-days"}


FLAG_NAMES = {"strm_mode": "--strm", "meta_mode": "--meta", "media_exts": "--media-ext",
              "meta_exts": "--meta-ext", "mount_prefix": "--mount-prefix",
              "url_base": "--url-base", "meta_update": "--meta-update", "cleanup": "--cleanup"}


def _strm_fields(args) -> dict:
    wrong = [flag for name, flag in MIRROR_FLAGS.items() if getattr(args, name) is not None]
    if wrong or args.strategy in ("mirror", "upload", "download"):
        raise ConfigError(f"{(wrong or ['--mode ' + str(args.strategy)])[0]}: only for mirror"
                          " jobs (--kind mirror)")
    data = {"options": option_values(args)}
    for key in ("source_root", "target_root"):
        if getattr(args, key) is not None:
            data[key] = getattr(args, key)
    return data


def _mirror_fields(args) -> dict:
    options = option_values(args)
    mode = options.pop("strategy", None)
    if mode in ("full", "incremental"):
        raise ConfigError("mode: a mirror job's mode is mirror, upload or download")
    strm_only = sorted(set(options) - {"max_delete", "concurrency"})
    if strm_only or args.source_root is not None or args.target_root is not None:
        flag = "--from/--to" if not strm_only else FLAG_NAMES.get(strm_only[0], strm_only[0])
        raise ConfigError(f"{flag}: not an option of mirror jobs (they take --local and"
                          " --remote-path)")
    given = {"mode": mode, "conflict": args.conflict, "trash_days": args.trash_days,
             "max_delete": options.get("max_delete"), "concurrency": options.get("concurrency")}
    data = {"options": {k: v for k, v in given.items() if v is not None}}
    for key in ("local_root", "remote_path"):
        if getattr(args, key) is not None:
            data[key] = getattr(args, key)
    return data


def _list(store: Store, args, settings) -> int:
    jobs = [public_job(job, store.source(job["source_id"]), store.job_servers(job["id"]),
                       store=store)
            for job in store.jobs()]
    if args.json:
        print(json.dumps(jobs, indent=2))
        return 0
    print_table(["id", "name", "kind", "source", "from", "to", "schedule", "next run"], [
        [j["id"], j["name"], j["kind"], j["source"], j.get("source_root", j.get("remote_path")),
         j.get("target_root", j.get("local_root")), j["schedule"] or "-",
         (j["next_runs"] or ["-"])[0]] for j in jobs])
    return 0


def _show(store: Store, args, settings) -> int:
    job = _job(store, args.name)
    shown = public_job(job, store.source(job["source_id"]), store.job_servers(job["id"]),
                       store=store)
    shown["recent_runs"], _ = store.runs(job["id"], limit=5)
    print(json.dumps(shown, indent=2, default=str))
    return 0


def _run(store: Store, args, settings) -> int:
    job = _job(store, args.name)
    if job["kind"] == "mirror" and args.mode not in (None, "full"):
        raise ConfigError("mode: a mirror run always lists both sides")
    mode = args.mode or kind_of(job).default_mode(job)
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
    counts = run["counts"] or {}
    if "uploaded" in counts:  # a mirror run: the counts its kind declares
        told = "  ".join(f"{name.replace('_', ' ')} {value}" for name, value in counts.items())
    else:
        told = (f"created {run['created']}  updated {run['updated']}  unchanged"
                f" {run['skipped']}  deleted {run['deleted']}  failed {run['failed']}")
    print(f"run {run_id}: {run['status']}  {told}")
    if run["error"]:
        print(f"  problem: {run['error']}")
    return EXIT_CODES[run["status"]]


def _remove(store: Store, args, settings) -> int:
    store.delete_job(_job(store, args.name)["id"])
    print(f"job {args.name} removed (its files stay where they are)")
    return 0
