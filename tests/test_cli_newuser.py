"""The command line as a new user meets it: one-shot syncs that leave no records behind,
`job run --wait` with no service, `--data` anywhere, errors that say what and where."""

import json
import signal
import socket
import subprocess
import sys
import time

import psutil

from strmsync.store import Store
from tests.conftest import make_files, strmsync_env, tree


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_one_shot_sync_stays_out_of_the_service_and_keeps_no_secret(
        cli, tmp_path, data_dir, openlist_server):
    make_files(tmp_path / "lib", {"a.mkv": "v", "b.mkv": "v"})
    assert cli("sync", tmp_path / "lib", tmp_path / "strm").code == 0
    host = openlist_server.url.removeprefix("http://")
    remote = cli("sync", f"openlist://alice:alice-pw-S3cret@{host}/Media", tmp_path / "cloud")
    assert remote.code == 0, remote.err
    assert tree(tmp_path / "cloud"), "the one-shot remote sync wrote its tree"
    for group in ("source", "job"):
        listed = cli(group, "--data", data_dir, "list", "--json")
        assert listed.code == 0 and json.loads(listed.out) == [], listed.out
    store = Store(data_dir / "strmsync.db")
    try:
        rows = store.db.execute("SELECT name, secrets, one_shot FROM sources").fetchall()
        assert len(rows) == 2
        assert all(one_shot == 1 and secrets == "{}" for _, secrets, one_shot in rows)
        assert store.runs()[1] == 0, "one-shot runs stay out of the service's history"
    finally:
        store.close()
    (tmp_path / "lib/b.mkv").unlink()
    again = cli("sync", tmp_path / "lib", tmp_path / "strm", "--max-delete", "100%")
    assert again.code == 0 and set(tree(tmp_path / "strm")) == {"a.strm"}, again.err


def test_job_run_wait_without_a_service_says_so_and_stops_its_redis(tmp_path, data_dir):
    env = strmsync_env(data_dir)
    env.pop("REDIS_URL", None)

    def cli(*argv):
        return subprocess.run([sys.executable, "-m", "strmsync", *argv], capture_output=True,
                              text=True, env=env, timeout=120)

    make_files(tmp_path / "lib", {"a.mkv": "v"})
    assert cli("source", "add", "mnt", "--kind", "local", "--root", str(tmp_path / "lib")
               ).returncode == 0
    assert cli("job", "add", "m", "--source", "mnt", "--from", str(tmp_path / "lib"), "--to",
               str(tmp_path / "strm"), "--data", str(data_dir)).returncode == 0
    waited = cli("job", "run", "m", "--wait")
    assert waited.returncode == 5, waited.stderr
    assert "no worker is running" in waited.stderr and "strmsync serve" in waited.stderr
    assert "Traceback" not in waited.stderr
    assert not [p for p in psutil.process_iter(["cmdline"])
                if str(data_dir) in " ".join(p.info["cmdline"] or []) and
                "redis-server" in " ".join(p.info["cmdline"] or [])]


def test_ctrl_c_while_waiting_is_a_clean_line(tmp_path, data_dir, redis_url):
    from rq import Worker

    from strmsync.service.queue import connect, run_queue

    env = {**strmsync_env(data_dir, redis_url), "PYTHONUNBUFFERED": "1"}
    make_files(tmp_path / "lib", {"a.mkv": "v"})
    for argv in (("source", "add", "mnt", "--kind", "local", "--root", str(tmp_path / "lib")),
                 ("job", "add", "m", "--source", "mnt", "--from", str(tmp_path / "lib"),
                  "--to", str(tmp_path / "strm"))):
        subprocess.run([sys.executable, "-m", "strmsync", *argv], env=env, check=True,
                       capture_output=True)
    # A worker that is registered but never takes work: the run stays queued, the CLI waits.
    conn = connect(redis_url)
    idle = Worker([run_queue(conn)], connection=conn, name="idle")
    idle.register_birth()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "strmsync", "job", "run", "m", "--wait"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        assert "queued" in proc.stdout.readline()
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        idle.register_death()
        conn.close()
    assert proc.returncode == 130, err
    assert "stopped waiting" in err and "Traceback" not in err


def test_data_works_before_and_after_the_action(cli, tmp_path):
    data = tmp_path / "elsewhere"
    make_files(tmp_path / "lib", {"a.mkv": "v"})
    assert cli("--data", data, "source", "add", "one", "--kind", "local", "--root",
               tmp_path / "lib").code == 0
    assert cli("source", "--data", data, "add", "two", "--kind", "local", "--root",
               tmp_path / "lib").code == 0
    assert cli("source", "add", "three", "--kind", "local", "--root", tmp_path / "lib",
               "--data", data).code == 0
    listed = json.loads(cli("source", "list", "--json", "--data", data).out)
    assert [row["name"] for row in listed] == ["one", "three", "two"]
    assert cli("--data", data / "x", "sync", tmp_path / "lib", tmp_path / "strm").code == 0
    assert (data / "x/strmsync.db").exists()


def test_argument_errors_speak_json_and_name_the_sub_command(cli, tmp_path):
    bad = cli("sync", tmp_path, tmp_path / "strm", "--json", "--colour")
    assert bad.code == 2
    answer = json.loads(bad.out)
    assert "unrecognized arguments: --colour" in answer["error"]
    assert answer["usage"].startswith("usage: strmsync sync")
    plain = cli("sync", tmp_path, tmp_path / "strm", "--colour")
    assert plain.code == 2 and "usage: strmsync sync" in plain.err
    nested = cli("job", "run", "x", "--colour")
    assert "usage: strmsync job run" in nested.err


def test_an_unreachable_source_is_one_line_naming_the_host(cli, tmp_path, data_dir):
    port = free_port()
    added = cli("source", "add", "down", "--kind", "openlist", "--url",
                f"http://127.0.0.1:{port}", "--token", "t", "--data", data_dir)
    assert added.code == 0, added.err
    tested = cli("source", "test", "down", "--data", data_dir)
    assert tested.code == 2 and "Traceback" not in tested.err
    assert f"127.0.0.1:{port}" in tested.err and len(tested.err.strip().splitlines()) == 1
    synced = cli("sync", f"openlist://127.0.0.1:{port}/Media", tmp_path / "strm",
                 "--token", "t")
    assert synced.code == 1 and f"127.0.0.1:{port}" in synced.out + synced.err
    assert "Retrying" not in synced.err


def test_words_match_the_panel_and_help_names_defaults(cli, tmp_path, data_dir):
    make_files(tmp_path / "lib", {"a.mkv": "v"})
    cli("sync", tmp_path / "lib", tmp_path / "strm")
    again = cli("sync", tmp_path / "lib", tmp_path / "strm")
    assert "unchanged 1" in again.out and "skipped" not in again.out
    store = Store(data_dir / "strmsync.db")
    try:
        run_id = json.loads(cli("sync", tmp_path / "lib", tmp_path / "strm", "--json").out)[
            "run_id"]
        log = " ".join(line["message"] for line in store.run_log(run_id))
    finally:
        store.close()
    assert f"full run of sync into {tmp_path / 'strm'}" in log and "unchanged 1" in log
    helped = cli("job", "add", "--help")  # (help never opens the record)
    assert "(default: no)" in helped.out and "(default: yes)" in helped.out
    assert "(default: unchanged)" in cli("job", "edit", "--help").out
