"""The trakt kind as the service sees it: its record, its counts, its slot and its run."""

import contextlib
from collections.abc import Iterator

from strmsync.errors import ConfigError, FatalError
from strmsync.service.kinds import RunContext
from strmsync.store import Store
from strmsync.trakt.options import TraktOptions
from strmsync.trakt.record import AGAIN, TraktRecord
from strmsync.trakt.sync import COUNTS, TraktParts, TraktRun
from strmsync.validation import InvalidBody

__all__ = ["COUNTS", "default_mode", "execute", "slots", "trakt_client"]
BUDGET_WINDOW = 300.0
TOKEN_LOCK_S = 60


def default_mode(job: dict) -> str:
    """A scheduled run is incremental; "full re-sync" is asked for by hand."""
    return "incremental"


def slots(store: Store, job: dict) -> list[str]:
    """Two runs writing one media-server user's played state never run together."""
    options = job["options"]
    return [f"trakt://server-{options.get('server_id')}/{options.get('user_id')}"]


@contextlib.contextmanager
def trakt_client(store: Store, job: dict, before_get=None) -> Iterator:
    """A client for the job's own Trakt app at its configured API address."""
    from strmsync.trakt.client import TraktClient

    options = TraktOptions.from_dict(_stored_options(job))
    secret = TraktRecord(store, job["id"]).secrets().get("client_secret")
    if not secret:
        raise FatalError("client_secret: enter the Trakt app's client secret again")
    client = TraktClient(options.api_url, job["options"]["client_id"], secret,
                         before_get=before_get)
    try:
        yield client
    finally:
        client.close()


def execute(ctx: RunContext) -> str:
    """Carry out one trakt run with the service's cancel control."""
    from strmsync.trakt.budget import RequestBudget

    store, run, job = ctx.store, ctx.run, ctx.job
    record = TraktRecord(store, job["id"])
    try:
        options = TraktOptions.from_dict(_stored_options(job))
        server = _server(store, job)
        if record.tokens() is None:
            raise FatalError("not authorised with Trakt: press Authorise on the job")
        budget = RequestBudget(options.get_budget, BUDGET_WINDOW, ctx.conn,
                               f"strmsync:trakt:budget:{job['options']['client_id']}")
        client_cm = trakt_client(store, job, before_get=budget.take)
        client = client_cm.__enter__()
    except (ConfigError, FatalError) as exc:
        store.start_run(run["id"], 0, "")
        store.finish_run(run["id"], "failed", {}, str(exc))
        return "failed"
    from strmsync.mediaserver import make_session

    session = make_session()  # one pool of connections to the media server for the run
    try:
        parts = _parts(store, ctx.conn, job, client, server, session)
        summary = TraktRun(store, run["id"], job, parts, options, run["mode"],
                           bool(run["dry_run"]), ctx.beat.cancel, ctx.report).execute()
    finally:
        session.close()
        client_cm.__exit__(None, None, None)
    return summary.status


def _parts(store: Store, conn, job: dict, client, server, session=None) -> TraktParts:
    from strmsync.mediaserver.library import ItemIndex, mark_played
    from strmsync.trakt.client import Tokens
    from strmsync.trakt.tokens import TokenKeeper

    record = TraktRecord(store, job["id"])
    user_id = job["options"]["user_id"]

    def load():
        raw = record.tokens()
        return Tokens.from_dict(raw) if raw else None

    def save(tokens) -> None:
        record.save_tokens(tokens.to_dict())

    def lock():
        return conn.lock(f"strmsync:trakt:tokens:{job['id']}", timeout=TOKEN_LOCK_S,
                         blocking_timeout=TOKEN_LOCK_S * 2)

    keeper = TokenKeeper(client, load, save, lock)
    return TraktParts(client, keeper, server, user_id,
                      build_index=lambda: ItemIndex.build(server, user_id, session=session),
                      mark_played=lambda item_id, when: mark_played(server, user_id, item_id,
                                                                    when, session=session))


def _server(store: Store, job: dict):
    from strmsync.servers import to_media_server

    row = store.server(job["options"].get("server_id"))
    if row is None:
        raise ConfigError("media_server: the job's media server was removed; pick another")
    return to_media_server(row)


def _stored_options(job: dict) -> dict:
    return {k: v for k, v in job["options"].items()
            if k not in ("client_id", "server_id", "user_id", "user_name")}


def trakt_values(given: dict, base: dict, errors: dict, store: Store) -> dict:
    """The trakt-specific columns of a job record: app, media-server user, options."""
    stored = base.get("options") or {}
    identity = {
        "client_id": given.get("client_id", stored.get("client_id")),
        "server_id": stored.get("server_id"), "user_id": given.get("user", stored.get("user_id")),
        "user_name": given.get("user_name", stored.get("user_name")),
    }
    if given.get("media_server") is not None:
        server = store.server(given["media_server"])
        if server is None:
            errors["media_server"] = f"no such media server: {given['media_server']!r}"
        else:
            identity["server_id"] = server["id"]
    for field, key in (("client_id", "client_id"), ("media_server", "server_id"),
                       ("user", "user_id")):
        if not identity[key]:
            errors.setdefault(field, "required")
    secrets = dict(base.get("secrets") or {})
    if given.get("client_secret"):
        secrets["client_secret"] = given["client_secret"]
    elif not secrets.get("client_secret") and not base.get("secrets_error"):
        errors.setdefault("client_secret", "required")
    sent = {k: v for k, v in (given.get("options") or {}).items() if v is not None}
    options = None
    try:
        stored_options = _stored_options(base) if base else {}
        options = TraktOptions.from_dict({**stored_options, **sent}).to_dict()
    except InvalidBody as exc:
        errors.update({f"options.{field}": problem for field, problem in exc.errors.items()})
    except ConfigError as exc:
        field, _, problem = str(exc).partition(": ")
        errors[f"options.{field}"] = problem
    values = {"options": {**(options or {}), **identity}, "source_id": None,
              "source_root": "", "target_root": ""}
    if not base.get("secrets_error") or given.get("client_secret"):
        values["secrets"] = secrets
    return values


def public_fields(row: dict, store: Store) -> dict:
    """How the API shows a trakt job's own fields (never a secret or a token)."""
    options = row["options"]
    server = store.server(options.get("server_id")) if options.get("server_id") else None
    state = TraktRecord(store, row["id"]).state()
    secrets = row.get("secrets") or {}
    shown = {"client_id": options.get("client_id"),
             "client_secret_set": bool(secrets.get("client_secret")),
             "media_server": server["name"] if server else None,
             "user": options.get("user_id"), "user_name": options.get("user_name"),
             "authorization": state["auth"],
             "options": _stored_options(row)}
    if state["auth"] == AGAIN and state.get("auth_error"):
        shown["authorization_error"] = state["auth_error"]
    return shown
