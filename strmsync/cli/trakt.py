"""`strmsync trakt authorize|status|disconnect JOB`: link a trakt job to a Trakt account."""

import argparse
import sys
import time

from strmsync.cli.output import run_action
from strmsync.errors import ConfigError
from strmsync.store import Store
from strmsync.trakt.record import TraktRecord

EXIT_NOT_AUTHORIZED = 1
EXIT_INTERRUPTED = 130
SAID = {"pending": None, "slow_down": "Trakt asks to poll less often",
        "expired": "the code expired before it was entered; run this again",
        "denied": "the code was denied on Trakt", "invalid": "Trakt does not know this code",
        "used": "the code was already used"}


def register(commands) -> None:
    """Add the `trakt` sub-command group."""
    p = commands.add_parser("trakt", help="link trakt jobs to Trakt accounts")
    p.add_argument("--data", help="data directory")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("authorize", help="show a code to enter on Trakt, wait until it is"
                   " approved, keep the tokens").add_argument("job")
    sub.add_parser("status", help="say whether a job is linked").add_argument("job")
    sub.add_parser("disconnect", help="forget a job's Trakt tokens").add_argument("job")
    p.set_defaults(handler=run_trakt)


def run_trakt(args: argparse.Namespace, parser) -> int:
    """Dispatch a `trakt` action."""
    actions = {"authorize": _authorize, "status": _status, "disconnect": _disconnect}
    return run_action("trakt", args, actions)


def _job(store: Store, key: str) -> dict:
    job = store.job(key)
    if job is None or job["kind"] != "trakt":
        raise ConfigError(f"job: no trakt job called {key!r}")
    return job


def _authorize(store: Store, args, settings) -> int:
    from strmsync.trakt.auth import wait_for_approval
    from strmsync.trakt.kind import trakt_client

    job = _job(store, args.job)
    with trakt_client(store, job) as client:
        code = client.device_code()
        print(f"Open {code.verification_url} and enter the code {code.user_code}"
              f" (within {code.expires_in // 60} minutes). Waiting…", flush=True)
        try:
            state, tokens = wait_for_approval(
                client, code.device_code, code.interval, time.time() + code.expires_in,
                on_state=lambda state: SAID.get(state) and print(SAID[state], file=sys.stderr))
        except KeyboardInterrupt:
            print("\nstopped waiting; nothing was stored", file=sys.stderr)
            return EXIT_INTERRUPTED
    if tokens is None:
        print(f"not authorised: {SAID.get(state) or state}", file=sys.stderr)
        return EXIT_NOT_AUTHORIZED
    TraktRecord(store, job["id"]).save_tokens(tokens.to_dict())
    print(f"job {job['name']}: authorised with Trakt")
    return 0


def _status(store: Store, args, settings) -> int:
    state = TraktRecord(store, _job(store, args.job)["id"]).state()
    print(f"{args.job}: {state['auth']}" + (f" ({state['auth_error']})"
                                            if state.get("auth_error") else ""))
    return 0 if state["auth"] == "authorized" else EXIT_NOT_AUTHORIZED


def _disconnect(store: Store, args, settings) -> int:
    TraktRecord(store, _job(store, args.job)["id"]).save_tokens(None)
    print(f"job {args.job}: Trakt tokens forgotten")
    return 0
