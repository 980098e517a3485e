"""Benchmark trakt jobs: a Trakt account's watched history marked played for one user.

The Trakt stand-in (GETs limited per window, 1 write/s) and an Emby or Jellyfin stand-in
run in a child process, so the client's CPU (this process: the API, the run, SQLite) is
measured apart from theirs. The job is made through the Flask API test client as a user
makes it, tokens are stored as a finished device flow stores them, and every run goes
through `strmsync.service.tasks.perform_run` on an embedded Redis, as a worker runs it.

Steps: (1) first sync (an incremental run on an empty record: the whole history and the
first reconcile), (2) a no-op incremental run, (3) 100 new plays, incremental, (4) a full
re-sync. Per step: wall and CPU time, Trakt GETs (and 429s), GETs per history entry,
media-server index pages and mark-played POSTs, the run's counts, and the time the run
spent waiting on its own GET budget (pacing).

Run: `python bench/bench_trakt.py --entries 10000 --library 20000 --kind jellyfin`
(`--get-limit 60 --get-budget 50` makes the budget matter; `--window 30` scales Trakt's
five-minute window, on both sides, so a paced run takes minutes rather than half an hour).
"""

import argparse
import base64
import json
import math
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
PASSWORD = "bench-password"
NEW_PLAYS = 100
STEPS = ("first", "noop", "new100", "full")


def plan(entries: int, library: int) -> dict:
    """How many movies and episodes the history and the library hold.

    History: 40 % movies (n = 0..), 60 % episodes (k = 0.., show k // 20 + 1), as the
    stand-in's `fill_history` numbers them. Library: 30 % of `library` movies, the rest
    episodes in series of 20 (plus the series items), never fewer than the history needs.
    Unmatched on purpose: movies with n % 20 == 19 carry other ids, and so do the series
    with show % 25 == 0. Already played on the server before the first run: movies with
    n % 10 == 3. Episodes of even shows carry their own TVDB id (matched by it), those of
    odd shows none (matched by series + season + number).
    """
    movies = entries * 2 // 5
    episodes = entries - movies
    lib_movies = max(movies + NEW_PLAYS, library * 3 // 10)
    shows = max(math.ceil(episodes / 20), (library - lib_movies) // 20)
    return {"history_movies": movies, "history_episodes": episodes,
            "library_movies": lib_movies, "library_shows": shows}


# --- the stand-ins' process ------------------------------------------------------------

def serve(kind: str, get_limit: int, window: float, conn) -> None:
    """Child process: both stand-ins; answers commands sent on `conn` until `stop`."""
    sys.path.insert(0, REPO)
    from tests.standins.mediaserver import Item, MediaServerStandIn
    from tests.standins.trakt import TraktStandIn

    trakt = TraktStandIn(get_limit=get_limit, get_window=window, writes_per_second=1).start()
    media = MediaServerStandIn(kind).start()
    user = None
    while True:
        command, arg = conn.recv()
        if command == "setup":
            user = media.add_user("alice")
            _fill_library(media, Item, user, arg)
            trakt.fill_history(movies=arg["history_movies"], episodes=arg["history_episodes"],
                               newest=datetime.now(timezone.utc) - timedelta(hours=2))
            conn.send({"trakt_url": trakt.url, "client_id": trakt.client_id,
                       "client_secret": trakt.client_secret, "media_url": media.url,
                       "api_key": media.api_key, "user": user, "items": len(media.items),
                       "played": len(media.played(user)), "history": len(trakt.history)})
        elif command == "tokens":
            conn.send(trakt.issue_tokens())
        elif command == "plays":
            # New plays of library movies the history has not seen yet, in the last hour.
            now = datetime.now(timezone.utc)
            for i, n in enumerate(range(arg["first"], arg["first"] + arg["count"])):
                trakt.add_movie_play(f"Movie {n}", 1990 + n % 30,
                                     ids={"imdb": f"tt{n:07d}", "tmdb": n + 1},
                                     watched_at=now - timedelta(seconds=30 * (i + 1)))
            conn.send("ok")
        elif command == "stats":
            conn.send(_stats(trakt, media, user))
        else:
            trakt.stop()
            media.stop()
            conn.send("stopped")
            return


def _fill_library(media, item_cls, user: str, shape: dict) -> None:
    items = []
    for n in range(shape["library_movies"]):
        ids = {"Imdb": f"tt{n:07d}", "Tmdb": str(n + 1)} if n % 20 != 19 else \
            {"Imdb": f"tt5{n:06d}", "Tmdb": str(600000 + n)}
        items.append(item_cls("Movie", f"Movie {n}", 1990 + n % 30, ids))
    media.add_items(items)
    played_at = datetime(2020, 1, 1, tzinfo=timezone.utc)
    for item in items:
        n = int(item.name.split()[1])
        if n % 10 == 3 and n % 20 != 19:
            media.set_played(user, item.id, played_at)
    for show in range(1, shape["library_shows"] + 1):
        tvdb = 70000 + show if show % 25 else 170000 + show
        (series,) = media.add_items([item_cls("Series", f"Show {show}", 2008,
                                              {"Tvdb": str(tvdb)})])
        episodes = []
        for number in range(1, 21):
            k = (show - 1) * 20 + number - 1
            own = {"Tvdb": str(500000 + k)} if show % 2 == 0 and show % 25 else {}
            episodes.append(item_cls("Episode", f"Show {show} S01E{number:02d}", None, own,
                                     series, 1, number))
        media.add_items(episodes)


def _stats(trakt, media, user) -> dict:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with trakt._lock:
        tcalls = list(trakt.calls)
    with media._lock:
        mcalls = list(media.calls)
    gets = [c for c in tcalls if c.method == "GET"]
    return {
        "trakt_calls": len(tcalls), "trakt_gets": len(gets),
        "trakt_429": sum(c.status == 429 for c in tcalls),
        "trakt_get_paths": dict(Counter(c.path for c in gets)),
        "trakt_writes": sum(c.method != "GET" for c in tcalls),
        "media_calls": len(mcalls),
        "media_endpoints": dict(Counter(c.endpoint or c.route for c in mcalls)),
        "media_errors": sum(c.status >= 400 for c in mcalls),
        "played": len(media.played(user)) if user else 0,
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


# --- the client side ---------------------------------------------------------------------

class Bench:
    """One round: a fresh data directory, Redis, stand-ins, job; the four steps."""

    def __init__(self, args, kind: str, workdir: Path):
        self.args, self.kind, self.workdir = args, kind, workdir
        self.shape = plan(args.entries, args.library)
        self.paced_s = 0.0
        self.paces = 0

    def run(self) -> dict:
        from strmsync.config import Settings
        from strmsync.service.queue import EmbeddedRedis

        data = self.workdir / "data"
        os.environ["STRMSYNC_DATA"] = str(data)
        redis_home = EmbeddedRedis(self.workdir / "redis-home")
        redis_url = redis_home.start()
        os.environ["REDIS_URL"] = redis_url
        self.redis_pid = redis_home.server.pid
        ctx = multiprocessing.get_context("spawn")
        self.pipe, theirs = ctx.Pipe()
        child = ctx.Process(target=serve, daemon=True,
                            args=(self.kind, self.args.get_limit, self.args.window, theirs))
        child.start()
        try:
            started = time.monotonic()
            self.standins = self._ask("setup", self.shape)
            setup_s = time.monotonic() - started
            settings = Settings(data_dir=data, redis_url=redis_url)
            self.job_id = self._make_job(settings)
            self._instrument()
            steps = {}
            for step in STEPS:
                if step == "new100":
                    self._ask("plays", {"first": self.shape["history_movies"],
                                        "count": NEW_PLAYS})
                steps[step] = self._step(data, redis_url, "full" if step == "full"
                                         else "incremental")
                print(f"  {self.kind} {step}: {steps[step]['wall_s']} s "
                      f"{steps[step]['status']} {steps[step]['counts']}", file=sys.stderr)
            final = self._ask("stats")
            return {"setup_s": round(setup_s, 2), "standins": self.standins, "steps": steps,
                    "played_at_end": final["played"]}
        finally:
            self._ask("stop")
            child.join(10)
            redis_home.stop()

    def _ask(self, command: str, arg=None):
        self.pipe.send((command, arg))
        return self.pipe.recv()

    def _make_job(self, settings) -> int:
        """The media server and the trakt job through the API, tokens stored as the device
        flow stores them."""
        from strmsync.store import Store
        from strmsync.trakt.record import TraktRecord
        from strmsync.web import create_app
        from strmsync.web.auth import set_password

        app = create_app(settings, settings.redis_url)
        app.config["TESTING"] = True
        set_password(settings, PASSWORD, PASSWORD)
        client = app.test_client()
        basic = base64.b64encode(f"api:{PASSWORD}".encode()).decode()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Basic {basic}"
        s = self.standins
        server = client.post("/api/v1/mediaservers", json={
            "name": "den", "kind": self.kind, "url": s["media_url"], "api_key": s["api_key"]})
        assert server.status_code == 201, server.json
        options = {"api_url": s["trakt_url"]}
        if self.args.get_budget is not None:
            options["get_budget"] = self.args.get_budget
        job = client.post("/api/v1/jobs", json={
            "kind": "trakt", "name": "watched", "client_id": s["client_id"],
            "client_secret": s["client_secret"], "media_server": server.json["id"],
            "user": s["user"], "options": options})
        assert job.status_code == 201, job.json
        issued = self._ask("tokens")
        store = Store(settings.data_dir / "strmsync.db")
        try:
            TraktRecord(store, job.json["id"]).save_tokens({
                k: issued[k] for k in ("access_token", "refresh_token", "created_at",
                                       "expires_in")})
        finally:
            store.close()
        return job.json["id"]

    def _instrument(self) -> None:
        """Scale the budget's window with the stand-in's, and time the budget's waits."""
        import strmsync.trakt.kind as trakt_kind
        from strmsync.trakt.budget import RequestBudget

        trakt_kind.BUDGET_WINDOW = self.args.window
        bench = self
        if getattr(RequestBudget.take, "_bench", False):
            RequestBudget.take = RequestBudget.take.__wrapped__
        original = RequestBudget.take

        def take(budget) -> None:
            started = time.monotonic()
            original(budget)
            waited = time.monotonic() - started
            if waited > 0.05:
                bench.paced_s += waited
                bench.paces += 1

        take._bench = True
        take.__wrapped__ = original
        RequestBudget.take = take

    def _step(self, data: Path, redis_url: str, mode: str) -> dict:
        from strmsync.service.queue import connect
        from strmsync.service.tasks import perform_run
        from strmsync.store import Store

        before = self._ask("stats")
        redis_before = _cpu_of(self.redis_pid)
        self.paced_s, self.paces = 0.0, 0
        store, conn = Store(data / "strmsync.db"), connect(redis_url)
        try:
            run_id = store.create_run(self.job_id, mode, "manual", False)
            usage0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
            status = perform_run(store, conn, run_id)
            wall = time.monotonic() - wall0
            usage1 = resource.getrusage(resource.RUSAGE_SELF)
            run = store.run(run_id)
        finally:
            conn.close()
            store.close()
        after = self._ask("stats")
        counts = run["counts"] or {}
        fetched = counts.get("fetched", 0)
        gets = after["trakt_gets"] - before["trakt_gets"]
        paths = Counter(after["trakt_get_paths"])
        paths.subtract(before["trakt_get_paths"])
        endpoints = Counter(after["media_endpoints"])
        endpoints.subtract(before["media_endpoints"])
        requests_trakt = after["trakt_calls"] - before["trakt_calls"]
        return {
            "mode": mode, "status": status, "error": run.get("error"),
            "wall_s": round(wall, 2),
            "client_cpu_s": round(usage1.ru_utime + usage1.ru_stime
                                  - usage0.ru_utime - usage0.ru_stime, 2),
            "standin_cpu_s": round(after["cpu_s"] - before["cpu_s"], 2),
            "redis_cpu_s": round(_cpu_of(self.redis_pid) - redis_before, 2),
            "trakt_requests": requests_trakt, "trakt_gets": gets,
            "trakt_429": after["trakt_429"] - before["trakt_429"],
            "trakt_get_paths": {k: v for k, v in paths.items() if v},
            "trakt_per_entry": round(requests_trakt / fetched, 4) if fetched else None,
            "media_index_pages": endpoints.get("items", 0),
            "media_mark_posts": endpoints.get("played", 0),
            "media_unplayed": endpoints.get("unplayed", 0),
            "media_other": sum(v for k, v in endpoints.items()
                               if k not in ("items", "played", "unplayed")),
            "media_errors": after["media_errors"] - before["media_errors"],
            "paced_s": round(self.paced_s, 1), "paced_waits": self.paces,
            "counts": counts, "played_after": after["played"],
        }


def _cpu_of(pid: int) -> float:
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


# --- checks and report -------------------------------------------------------------------

def expected(shape: dict) -> dict:
    """The first sync's counts the plan implies."""
    movies, episodes = shape["history_movies"], shape["history_episodes"]
    unmatched_movies = sum(1 for n in range(movies) if n % 20 == 19)
    played = sum(1 for n in range(movies) if n % 10 == 3 and n % 20 != 19)
    unmatched_eps = sum(1 for k in range(episodes) if (k // 20 + 1) % 25 == 0)
    return {"fetched": movies + episodes, "unmatched": unmatched_movies + unmatched_eps,
            "already_played": played,
            "marked": movies + episodes - unmatched_movies - unmatched_eps - played}


def check(result: dict, shape: dict, args) -> list[str]:
    problems = []
    steps = result["steps"]
    want = expected(shape)
    first = steps["first"]["counts"]
    for name, value in want.items():
        if first.get(name) != value:
            problems.append(f"first: {name} {first.get(name)} != {value}")
    for step, s in steps.items():
        if s["status"] != "succeeded":
            problems.append(f"{step}: {s['status']} ({s['error']})")
        if s["media_unplayed"]:
            problems.append(f"{step}: {s['media_unplayed']} mark-unplayed calls")
        if args.get_budget is not None and args.get_budget < args.get_limit and s["trakt_429"]:
            problems.append(f"{step}: {s['trakt_429']} 429s although the budget is below "
                            "the limit")
    if steps["noop"]["trakt_requests"] != 1 or steps["noop"]["media_index_pages"]:
        problems.append(f"noop: {steps['noop']['trakt_requests']} Trakt requests, "
                        f"{steps['noop']['media_index_pages']} index pages (want 1 and 0)")
    if steps["full"]["counts"].get("marked"):
        problems.append(f"full: marked {steps['full']['counts']['marked']} (want 0)")
    return problems


def median_round(rounds: list[dict]) -> dict:
    """The round whose total wall time is the median (a real round, not a blend)."""
    totals = [sum(s["wall_s"] for s in r["steps"].values()) for r in rounds]
    order = sorted(range(len(rounds)), key=totals.__getitem__)
    return rounds[order[len(order) // 2]]


def table(kind: str, rounds: list[dict]) -> list[str]:
    chosen = median_round(rounds)
    lines = ["| kind | step | wall s | range | client / stand-ins / redis CPU s | "
             "Trakt req | GETs | req/entry | 429 | paced s | index pages | mark POSTs | "
             "fetched | marked | already | unmatched | failed |",
             "|" + "---|" * 17]
    for step in STEPS:
        s = chosen["steps"][step]
        walls = [r["steps"][step]["wall_s"] for r in rounds]
        spread = f"{min(walls):.2f}–{max(walls):.2f}" if len(walls) > 1 else "-"
        c = s["counts"]
        per = f"{s['trakt_per_entry']:.4f}" if s["trakt_per_entry"] is not None else "-"
        lines.append(
            f"| {kind} | {step} | {s['wall_s']:.2f} | {spread} | {s['client_cpu_s']:.2f} / "
            f"{s['standin_cpu_s']:.2f} / {s['redis_cpu_s']:.2f} | {s['trakt_requests']} | "
            f"{s['trakt_gets']} | {per} | {s['trakt_429']} | {s['paced_s']:.1f} | "
            f"{s['media_index_pages']} | {s['media_mark_posts']} | {c.get('fetched', 0)} | "
            f"{c.get('marked', 0)} | {c.get('already_played', 0)} | {c.get('unmatched', 0)} | "
            f"{c.get('failed', 0)} |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10000, help="history entries")
    parser.add_argument("--library", type=int, default=20000, help="library movies+episodes")
    parser.add_argument("--kind", choices=("jellyfin", "emby", "both"), default="jellyfin")
    parser.add_argument("--get-limit", type=int, default=500,
                        help="the stand-in's GETs per window (Trakt: 500-1000 per 300 s)")
    parser.add_argument("--get-budget", type=int, default=None,
                        help="the job's get_budget option (default: the job's own, 450)")
    parser.add_argument("--window", type=float, default=300.0,
                        help="the rate-limit window, stand-in and budget alike (s)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", metavar="FILE", help="cProfile the client into FILE")
    parser.add_argument("--workdir", help="keep data and Redis here (default: a temp dir)")
    parser.add_argument("--json-out", metavar="FILE")
    args = parser.parse_args(argv)
    sys.path.insert(0, REPO)
    import logging

    logging.basicConfig(level=logging.WARNING)
    kinds = ("jellyfin", "emby") if args.kind == "both" else (args.kind,)
    shape = plan(args.entries, args.library)
    base = Path(args.workdir or tempfile.mkdtemp(prefix="bench-trakt-"))
    load_before = os.getloadavg()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    results, problems = {}, []
    try:
        for kind in kinds:
            rounds = []
            for number in range(args.repeat):
                workdir = base / f"{kind}-{number}"
                shutil.rmtree(workdir, ignore_errors=True)
                workdir.mkdir(parents=True)
                if profiler:
                    profiler.enable()
                result = Bench(args, kind, workdir).run()
                if profiler:
                    profiler.disable()
                rounds.append(result)
                problems += [f"{kind} round {number + 1}: {p}" for p in check(result, shape, args)]
            results[kind] = rounds
    finally:
        if not args.workdir:
            shutil.rmtree(base, ignore_errors=True)
    load_after = os.getloadavg()
    if profiler:
        profiler.dump_stats(args.profile)
    library_items = shape["library_movies"] + shape["library_shows"] * 21
    print(f"trakt bench: {args.entries} history entries ({shape['history_movies']} movies, "
          f"{shape['history_episodes']} episodes); library {library_items} items "
          f"({shape['library_movies']} movies, {shape['library_shows']} series x 20 episodes); "
          f"Trakt stand-in {args.get_limit} GET / {args.window:g} s, 1 write/s; job get_budget "
          f"{args.get_budget or 'default (450)'}; repeat {args.repeat}")
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f}, after "
          f"{load_after[0]:.2f} {load_after[1]:.2f}; {os.cpu_count()} CPUs")
    for kind, rounds in results.items():
        print()
        print("\n".join(table(kind, rounds)))
        setup = statistics.median(r["setup_s"] for r in rounds)
        print(f"({kind}: stand-in set-up {setup:.1f} s; played on the server at the end: "
              f"{rounds[-1]['played_at_end']})")
    if problems:
        print("\nPROBLEMS:\n  " + "\n  ".join(problems))
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps({
            "args": vars(args), "shape": shape, "expected_first": expected(shape),
            "load_before": load_before, "load_after": load_after, "results": results,
            "problems": problems}, indent=1, default=str))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
