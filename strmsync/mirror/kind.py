"""The mirror kind as the service sees it: its record, its counts, its slots and its run."""

from strmsync.errors import ConfigError, FatalError, StrmsyncError
from strmsync.mirror.engine import Controls, MirrorRun
from strmsync.mirror.options import MirrorOptions, parse_share
from strmsync.mirror.progress import COUNTS, MirrorProgress
from strmsync.mirror.smbremote import SmbRemote, SmbTarget
from strmsync.rootpaths import check_target, fold_path
from strmsync.service.kinds import RunContext
from strmsync.store import Store
from strmsync.validation import InvalidBody

__all__ = ["COUNTS", "default_mode", "execute", "slots", "smb_target", "test_source"]
MODE = "full"  # a mirror run always lists both sides; its direction is an option


def default_mode(job: dict) -> str:
    """The mode a scheduled or chained run takes."""
    return MODE


def smb_target(source: dict, remote_path: str = "") -> SmbTarget:
    """Where on the share a job (or a connection test) works, with the source's login."""
    config, secrets = source["config"], source.get("secrets") or {}
    if source.get("secrets_error"):
        raise FatalError(f"source {source['name']}: {source['secrets_error']}")
    path = "/".join(p for p in (config.get("path") or "", remote_path or "") if p.strip("/"))
    return SmbTarget(host=config["host"], share=config["share"], path=path.strip("/"),
                     port=int(config.get("port") or 445), username=config.get("username") or "",
                     password=secrets.get("password") or "", domain=config.get("domain") or "",
                     encrypt=bool(config.get("encrypt")),
                     timeout=float(config.get("timeout") or 30))


def slots(store: Store, job: dict) -> list[str]:
    """What a run holds while it runs: its local folder and its share folder."""
    source = store.source(job["source_id"], one_shot=True)
    held = [job["target_root"]]
    if source is not None and source["kind"] == "smb":
        held.append(smb_target(source, job["source_root"] or "").label().lower())
    return held


def execute(ctx: RunContext) -> str:
    """Carry out one mirror run with the service's pause and cancel controls."""
    store, run, job = ctx.store, ctx.run, ctx.job
    source = store.source(job["source_id"], one_shot=True)
    try:
        options = MirrorOptions.from_dict(job["options"])
        if source is None or source["kind"] != "smb":
            raise ConfigError("source: a mirror job needs an smb source")
        target = smb_target(source, job["source_root"] or "")
    except (ConfigError, FatalError) as exc:
        store.start_run(run["id"], 0, "")
        store.finish_run(run["id"], "failed", {}, str(exc))
        return "failed"
    controls = Controls(cancel=ctx.beat.cancel, paused=ctx.beat.paused)
    summary = MirrorRun(store, run["id"], job, target, options, bool(run["dry_run"]), controls,
                        MirrorProgress(ctx.report)).execute()
    return summary.status


def test_source(source: dict, sources=None) -> dict:
    """Log on to the share and look at the folder; FatalError saying what failed."""
    target = smb_target(source)
    try:
        with SmbRemote(target) as remote:
            remote.check()
    except StrmsyncError as exc:
        raise FatalError(str(exc)) from None
    return {"share": target.label(), "connected": True}


def mirror_values(given: dict, base: dict, errors: dict, store: Store) -> dict:
    """The mirror-specific columns of a job record: share folder, local folder, options."""
    values = {"source_root": given.get("remote_path", base.get("source_root") or ""),
              "target_root": None, "options": None}
    local = given.get("local_root", base.get("target_root"))
    if local is None:
        errors.setdefault("local_root", "required")
    else:
        try:
            values["target_root"] = fold_path(local, "local_root")
            check_target(values["target_root"], store.path.parent, None)
        except ConfigError as exc:
            field, _, problem = str(exc).partition(": ")
            errors["local_root"] = problem if field in ("local_root", "target_root") else str(exc)
    remote = str(values["source_root"] or "").strip("/")
    if ".." in remote.split("/") or "\\" in remote or "\x00" in remote:
        errors["remote_path"] = "a folder inside the source's share folder (no '..')"
    values["source_root"] = remote
    sent = {k: v for k, v in (given.get("options") or {}).items() if v is not None}
    try:
        if "max_delete" in sent:
            sent["max_delete"] = parse_share(sent["max_delete"])
        merged = {**(base.get("options") or {}), **sent}
        values["options"] = MirrorOptions.from_dict(merged).to_dict()
    except ConfigError as exc:
        field, _, problem = str(exc).partition(": ")
        errors[f"options.{field}"] = problem
    return values


def public_fields(row: dict) -> dict:
    """How the API shows a mirror job's own fields."""
    return {"local_root": row["target_root"], "remote_path": row["source_root"] or ""}


def check_source(source: dict | None) -> None:
    """A mirror job's source must be an SMB share."""
    if source is not None and source["kind"] != "smb":
        raise InvalidBody({"source": f"a mirror job needs an smb source; {source['name']} is"
                                     f" {source['kind']}"})
