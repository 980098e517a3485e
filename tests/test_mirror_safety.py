"""Mirror safety against a real Samba server: what aborts a run having changed nothing (an
empty side, a missing marker, max-delete), what disables deletions (a folder that cannot be
listed), trash retention, names the share cannot hold, and a wrong password (DESIGN.md §8)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from strmsync.mirror.localside import MARKER, TRASH
from strmsync.mirror.progress import MirrorProgress
from tests.mirrorkit import T0, Mirror, disk, files, run_cli, run_log, state, today_trash, write
from tests.standins.tcpcount import CountingProxy

SYNCED = {"Movies/A (2020)/a.nfo": b"a", "Movies/A (2020)/a.strm": b"http://a",
          "Shows/S/e1.nfo": b"e1", "top.nfo": b"top"}


@pytest.fixture
def synced(mirror) -> Mirror:
    """A mirror whose first run has put SYNCED on both sides."""
    for rel, data in SYNCED.items():
        write(mirror.local / rel, data, T0)
    first = mirror.run()
    assert first.status == "succeeded", first.log
    assert mirror.both() == (SYNCED, SYNCED)
    return mirror


def _empty(root: Path, keep_marker: bool) -> None:
    for entry in root.iterdir():
        if entry.name == MARKER and keep_marker:
            continue
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


# --- aborts that change nothing ---------------------------------------------------------------

def test_an_empty_share_folder_aborts_the_run_and_changes_nothing(synced, local):
    _empty(synced.remote, keep_marker=True)
    write(local / "new.nfo", "would be uploaded")
    before = synced.states()

    outcome = synced.run()

    assert outcome.status == "failed"
    assert "remote folder lists no files" in outcome.summary.error
    assert "nothing was changed" in outcome.summary.error
    assert synced.states() == before
    assert outcome.counts["uploaded"] == outcome.counts["deleted_local"] == 0


@pytest.mark.parametrize("how, reason", [
    ("files gone, marker kept", "local folder lists no files"),
    ("everything gone", f"has no {MARKER} marker"),
    ("folder gone", "does not exist"),
])
def test_an_emptied_local_folder_aborts_the_run_and_changes_nothing(synced, local, how, reason):
    if how == "folder gone":
        shutil.rmtree(local)
    else:
        _empty(local, keep_marker=how == "files gone, marker kept")
    write(synced.remote / "new on the share.nfo", "would be downloaded")
    before = synced.states()

    outcome = synced.run()

    assert outcome.status == "failed"
    assert reason in outcome.summary.error
    assert "nothing was changed" in outcome.summary.error.lower()
    assert synced.states() == before
    assert local.exists() == (how != "folder gone")


@pytest.mark.parametrize("side", ["local", "remote"])
def test_a_missing_marker_aborts_the_run_and_changes_nothing(synced, local, side):
    root = local if side == "local" else synced.remote
    (root / MARKER).unlink()
    (local / "top.nfo").unlink()  # a deletion the run would carry out
    write(synced.remote / "Shows/S/e2.nfo", "would be downloaded")
    before = synced.states()

    outcome = synced.run()

    assert outcome.status == "failed"
    assert f"no {MARKER} marker" in outcome.summary.error
    assert synced.states() == before
    assert not (root / MARKER).exists()  # not quietly put back either


def test_max_delete_aborts_with_the_plan_in_the_log_and_a_higher_limit_lets_it_through(
        local, smb_share, tmp_path):
    data, remote = tmp_path / "data", smb_share.dir
    content = {f"d/f{i}.nfo": f"file {i}".encode() for i in range(10)}
    for rel, blob in content.items():
        write(local / rel, blob)
    assert run_cli(local, smb_share, data, "--json").summary["uploaded"] == 10
    doomed = [f"d/f{i}.nfo" for i in range(6)]
    for rel in doomed:
        (local / rel).unlink()
    before = (state(local), state(remote))

    stopped = run_cli(local, smb_share, data, "--json")

    assert (stopped.code, stopped.summary["status"]) == (1, "failed")
    assert "max-delete" in stopped.summary["error"]
    assert "6 remote files" in stopped.summary["error"]
    assert (state(local), state(remote)) == before
    log = run_log(data, stopped.summary["run_id"])
    for rel in doomed:
        assert f"planned: delete_remote {rel}" in log

    through = run_cli(local, smb_share, data, "--json", "--max-delete", "100%")

    assert (through.code, through.summary["status"]) == (0, "succeeded"), through.err
    assert through.summary["deleted_remote"] == 6
    assert files(remote) == files(local) == {rel: content[rel] for rel in content
                                             if rel not in doomed}
    assert today_trash(remote) == {rel: content[rel] for rel in doomed}


# --- listing errors: no deletions that run -------------------------------------------------------

def test_a_local_folder_that_cannot_be_listed_disables_deletions(synced, local):
    # Root reads every folder, so the unlistable folder is a symlink loop, which the walker
    # reports instead of following.
    os.symlink("..", local / "Shows/S/loop")
    (local / "top.nfo").unlink()
    (synced.remote / "Shows/S/e1.nfo").unlink()
    write(local / "Movies/B/b.nfo", "new")

    outcome = synced.run()

    assert outcome.status == "partial", outcome.log
    assert "1 local folder(s) could not be listed; no deletions" in outcome.summary.error
    assert "cannot list Shows/S/loop" in outcome.log
    assert outcome.counts["deleted_local"] == outcome.counts["deleted_remote"] == 0
    assert (synced.remote / "top.nfo").read_bytes() == b"top"
    assert (local / "Shows/S/e1.nfo").read_bytes() == b"e1"
    assert (synced.remote / "Movies/B/b.nfo").read_bytes() == b"new"

    (local / "Shows/S/loop").unlink()
    after = synced.run()

    assert after.status == "succeeded", after.log
    assert (after.counts["deleted_local"], after.counts["deleted_remote"]) == (1, 1)
    assert today_trash(synced.remote) == {"top.nfo": b"top"}
    assert today_trash(local) == {"Shows/S/e1.nfo": b"e1"}


def test_share_folders_that_fail_to_list_disable_deletions(mirror, local, smb_share):
    # The server dies while the share is being listed (after its first file) and is back
    # before the plan is carried out: the folders not listed by then are listing errors.
    remote = smb_share.dir
    for i in range(100):
        write(local / f"d{i:03}/f.nfo", f"file {i}", T0)
    assert mirror.run().status == "succeeded"
    (local / "d000/f.nfo").unlink()
    (remote / "d099/f.nfo").unlink()
    write(local / "new.nfo", "new")
    events: list = []

    def kill_while_listing(snapshot: dict) -> None:
        if snapshot["phase"] == "scan" and snapshot["listed_remote"] and not events:
            events.append("killed")
            smb_share.server.kill()
        if snapshot["phase"] == "detect" and events == ["killed"]:
            events.append("started")
            smb_share.server.start()

    outcome = mirror.run(progress=MirrorProgress(kill_while_listing, interval=0))

    assert events == ["killed", "started"]
    assert outcome.status == "partial", outcome.log
    assert "remote folder(s) could not be listed; no deletions" in outcome.summary.error
    assert outcome.counts["deleted_local"] == outcome.counts["deleted_remote"] == 0
    assert (remote / "d000/f.nfo").read_bytes() == b"file 0"
    assert (local / "d099/f.nfo").read_bytes() == b"file 99"
    assert (remote / "new.nfo").read_bytes() == b"new"

    after = mirror.run()

    assert after.status == "succeeded", after.log
    assert (after.counts["deleted_local"], after.counts["deleted_remote"]) == (1, 1)
    assert files(local) == files(remote) and len(files(local)) == 99


# --- trash retention -----------------------------------------------------------------------------

def _day(days_ago: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() - days_ago * 86400))


def test_trash_older_than_trash_days_is_purged_on_both_sides(synced, local, smb_share,
                                                             tmp_path):
    for root in (local, synced.remote):
        write(root / TRASH / "2000-01-01/Movies/old.nfo", "very old")
        write(root / TRASH / _day(40) / "older.nfo", "40 days")
        write(root / TRASH / _day(3) / "recent.nfo", "3 days")
    (local / "top.nfo").unlink()

    outcome = synced.run(trash_days=30)

    assert outcome.status == "succeeded", outcome.log
    for root in (local, synced.remote):
        assert sorted(p for p in disk(root) if p.startswith(TRASH)) == sorted(
            [f"{TRASH}/{_day(3)}/recent.nfo"]
            + ([f"{TRASH}/{_day(0)}/top.nfo"] if root == synced.remote else []))
        assert not (root / TRASH / "2000-01-01").exists()
    assert "trash: 4 file(s) older than 30 days removed" in outcome.log

    cli = run_cli(local, smb_share, tmp_path / "cli-data", "--json", "--trash-days", "2")

    assert cli.summary["status"] == "succeeded", cli.err
    for root in (local, synced.remote):
        assert not (root / TRASH / _day(3)).exists()
    assert (synced.remote / TRASH / _day(0) / "top.nfo").read_bytes() == b"top"


def test_a_run_with_eight_transfers_and_a_trash_purge_opens_one_connection(synced, local,
                                                                          smb_share):
    write(synced.remote / TRASH / "2000-01-01/Movies/Old (1990)/old.nfo", "very old")
    write(synced.remote / TRASH / _day(3) / "recent.nfo", "3 days")
    for i in range(24):
        write(local / f"New/{i % 6}/n{i}.nfo", f"new {i}")
    (local / "top.nfo").unlink()
    server = smb_share.server

    with CountingProxy(server.host, server.port) as proxy:
        outcome = synced.run(target=smb_share.target(port=proxy.port), concurrency=8)

    assert outcome.status == "succeeded", outcome.log
    assert proxy.accepted == 1
    assert outcome.counts["uploaded"] == 24 and outcome.counts["deleted_remote"] == 1
    assert files(local) == files(synced.remote)
    assert sorted(p for p in disk(synced.remote) if p.startswith(TRASH)) == [
        f"{TRASH}/{_day(3)}/recent.nfo", f"{TRASH}/{_day(0)}/top.nfo"]
    assert not (synced.remote / TRASH / "2000-01-01").exists()


# --- names the share cannot hold ---------------------------------------------------------------

def test_names_the_share_cannot_hold_are_reported_and_kept(mirror, local, smb_share):
    odd = {"a?b.nfo": b"question", "trailing.": b"dot", "Shows/con.nfo": b"device",
           "Case.nfo": b"upper", "case.nfo": b"lower"}
    fine = {"ok.nfo": b"ok", "Shows/fine.nfo": b"fine"}
    for rel, data in {**odd, **fine}.items():
        write(local / rel, data, T0)
    before = files(local)

    outcome = mirror.run()

    assert outcome.status == "partial", outcome.log
    assert (outcome.counts["refused"], outcome.counts["conflicts"]) == (3, 1)
    assert "3 name(s) the share cannot hold" in outcome.summary.error
    for name in ("'a?b.nfo'", "'trailing.'", "'con.nfo'", "Case.nfo and case.nfo"):
        assert name in outcome.log
    assert {(c["action"], c["path"]) for c in outcome.changes} >= {
        ("refused", "a?b.nfo"), ("refused", "trailing."), ("refused", "Shows/con.nfo"),
        ("conflict", "Case.nfo | case.nfo")}
    assert files(smb_share.dir) == fine
    assert files(local) == before  # nothing renamed or dropped

    again = mirror.run()

    assert again.status == "partial" and again.counts["refused"] == 3
    assert again.counts["uploaded"] == again.counts["deleted_local"] == 0
    assert files(local) == before and files(smb_share.dir) == fine


# --- a wrong password ----------------------------------------------------------------------------

def test_a_wrong_password_fails_with_a_logon_message_and_is_kept_nowhere(local, smb_share,
                                                                         tmp_path):
    data, wrong = tmp_path / "data", "Wr0ng-pw-S3cret-xyz"
    write(local / "a.nfo", "a")
    right = run_cli(local, smb_share, data, "--json")
    assert right.summary["status"] == "succeeded"
    write(local / "b.nfo", "b")

    denied = run_cli(local, smb_share, data, "--json", password=wrong)

    assert denied.code == 1
    assert denied.summary["status"] == "failed"
    assert "logon failed" in denied.summary["error"]
    for password in (wrong, smb_share.server.password):
        assert password not in denied.out + denied.err + right.out + right.err
        for path in data.rglob("*"):
            if path.is_file():
                assert password.encode() not in path.read_bytes(), path
    assert not (smb_share.dir / "b.nfo").exists()
