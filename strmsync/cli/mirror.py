"""`strmsync mirror LOCAL smb://…`: one mirror of a local folder with a share, right now."""

import argparse
import hashlib
import json
import os
import re
import signal
import sys
from urllib.parse import unquote

from strmsync.config import load_settings
from strmsync.errors import ConfigError
from strmsync.mirror.detect import CONFLICT_POLICIES, MODES
from strmsync.mirror.engine import Controls, MirrorRun, MirrorSummary
from strmsync.mirror.options import MirrorOptions, parse_share
from strmsync.mirror.progress import MirrorProgress
from strmsync.mirror.smbremote import SmbTarget
from strmsync.rootpaths import check_target, fold_path
from strmsync.store import Store

EXIT_CODES = {"succeeded": 0, "failed": 1, "partial": 3, "cancelled": 4}
EXIT_USAGE = 2
PASSWORD_ENV = "STRMSYNC_SMB_PASSWORD"
SHOWN_CHANGES = 50
URL_RE = re.compile(r"^smb://(?:(?P<user>[^@/]+)@)?(?P<host>\[[0-9a-fA-F:.]+\]|[^/:@]+)"
                    r"(?::(?P<port>\d{1,5}))?/(?P<share>[^/]+)(?P<path>/.*)?$")


def register(commands) -> None:
    """Add the `mirror` sub-command."""
    p = commands.add_parser(
        "mirror", help="keep LOCAL and a folder on an SMB share in step, once",
        description="Mirror a local folder with a folder on an SMB share (both ways by"
                    " default). The first run copies each side's files to the other and"
                    " deletes nothing; later runs compare both sides with the last sync.")
    p.add_argument("local", help="the local folder")
    p.add_argument("remote", help="smb://[USER[;DOMAIN]@]HOST[:PORT]/SHARE[/PATH]")
    add_mirror_flags(p)
    p.add_argument("--password-env", metavar="VAR",
                   help=f"the environment variable holding the password (default {PASSWORD_ENV})")
    p.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    p.add_argument("--data", help="data directory (default: $STRMSYNC_DATA or XDG data dir)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the result")
    p.set_defaults(handler=run_mirror)


def add_mirror_flags(p: argparse.ArgumentParser) -> None:
    """The options `strmsync mirror` and `strmsync job add --kind mirror` share."""
    defaults = MirrorOptions()
    p.add_argument("--mode", choices=MODES,
                   help=f"direction: both ways, or one (default {defaults.mode})")
    p.add_argument("--conflict", choices=CONFLICT_POLICIES,
                   help=f"a file changed on both sides (default {defaults.conflict}: the"
                        " share's copy is kept as name.conflict-remote-TIME.ext)")
    p.add_argument("--max-delete", metavar="P",
                   help=f"stop, changing nothing, if a run would delete more than this share"
                        f" of the last sync's files (default {defaults.max_delete:.0%})")
    p.add_argument("--concurrency", type=int,
                   help=f"files transferred at once (default {defaults.concurrency})")
    p.add_argument("--trash-days", type=int,
                   help=f"days replaced or deleted files stay in .strmsync-trash"
                        f" (default {defaults.trash_days})")


def mirror_options(args: argparse.Namespace) -> dict:
    """The mirror options given on the command line (the others keep their defaults)."""
    given = {"mode": args.mode, "conflict": args.conflict, "concurrency": args.concurrency,
             "trash_days": args.trash_days}
    if args.max_delete is not None:
        given["max_delete"] = parse_share(args.max_delete)
    return {name: value for name, value in given.items() if value is not None}


def parse_smb_url(url: str, password: str = "") -> SmbTarget:
    """An SmbTarget from `smb://[user[;domain]@]host[:port]/share[/path]`."""
    match = URL_RE.match(url)
    if not match:
        raise ConfigError("remote: expected smb://[USER@]HOST[:PORT]/SHARE[/PATH]")
    if ":" in (match["user"] or ""):
        raise ConfigError(f"remote: no password in the URL; put it in ${PASSWORD_ENV}")
    user, _, domain = unquote(match["user"] or "").partition(";")
    path = "/".join(part for part in unquote(match["path"] or "").split("/") if part)
    if ".." in path.split("/"):
        raise ConfigError("remote: the path must not contain '..'")
    return SmbTarget(host=match["host"].strip("[]"), share=unquote(match["share"]), path=path,
                     port=int(match["port"] or 445), username=user, domain=domain,
                     password=password)


def run_mirror(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run one mirror and print its summary; the exit code tells how it ended."""
    env = args.password_env or PASSWORD_ENV
    try:
        if args.password_env and args.password_env not in os.environ:
            raise ConfigError(f"password: ${args.password_env} is not set")
        target = parse_smb_url(args.remote, os.environ.get(env, ""))
        options = MirrorOptions.from_dict(mirror_options(args))
        local = fold_path(os.path.abspath(args.local), "local")
        settings = load_settings(args.data)
        check_target(local, settings.data_dir, None)
    except ConfigError as exc:
        print(f"strmsync mirror: {exc}", file=sys.stderr)
        return EXIT_USAGE
    store = Store(settings.database_path)
    try:
        summary = _execute(store, local, target, options, args)
    finally:
        store.close()
    print(json.dumps(summary.to_dict()) if args.json else describe(summary))
    return EXIT_CODES[summary.status]


def _execute(store: Store, local: str, target: SmbTarget, options: MirrorOptions,
             args: argparse.Namespace) -> MirrorSummary:
    # One record per (local folder, share folder): its snapshot is what the next one-shot
    # mirror of the same pair compares with. No password is stored.
    pair = f"{local}\n{target.label().lower()}"
    key = hashlib.sha1(pair.encode()).hexdigest()[:12]
    config = {"host": target.host, "port": target.port, "share": target.share,
              "path": target.path, "username": target.username, "domain": target.domain}
    source_id = store.ensure_source(f"smb-{key}", "smb", config, one_shot=True)
    job_id = store.ensure_job(f"mirror-{key}", source_id, "", local, options.to_dict(),
                              one_shot=True, kind="mirror")
    run_id = store.create_run(job_id, "full", "manual", args.dry_run, "running")
    controls = Controls()
    previous = signal.signal(signal.SIGINT, lambda *_: controls.cancel.set())
    try:
        job = {"id": job_id, "name": f"mirror of {local}", "target_root": local}
        return MirrorRun(store, run_id, job, target, options, args.dry_run, controls,
                         MirrorProgress()).execute()
    finally:
        signal.signal(signal.SIGINT, previous)


def describe(summary: MirrorSummary) -> str:
    """The summary as a person reads it (the plan too, for a dry run)."""
    c = summary.counts
    lines = [f"strmsync mirror: {summary.status} in {summary.duration_s:.2f} s"
             + (" (dry run: nothing changed)" if summary.dry_run else ""),
             f"  uploaded {c['uploaded']}  downloaded {c['downloaded']}  deleted local"
             f" {c['deleted_local']}  deleted remote {c['deleted_remote']}  conflicts"
             f" {c['conflicts']}  failed {c['failed']}  unchanged {c['unchanged']}"
             f"  bytes {c['bytes']}"]
    if summary.error:
        lines.append(f"  problem: {summary.error}")
    planned = [a for a in summary.plan if a.kind not in ("record", "forget")]
    if summary.dry_run and planned:
        lines.append("  plan:")
        lines += [f"    {a.kind:<13} {a.path}  ({a.reason})" for a in planned[:SHOWN_CHANGES]]
        if len(planned) > SHOWN_CHANGES:
            lines.append(f"    … and {len(planned) - SHOWN_CHANGES} more")
    return "\n".join(lines)
