"""Three-way detection for mirror jobs: two listings and the last snapshot in, actions out.

Pure: nothing here opens a file or a connection (DESIGN.md §8; the decision table is the one
of rclone bisync and Unison). Each side is compared only with its own previous value; a
local mtime is compared with a remote one only to say "equal now" and for the `newer` policy.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

ACTIONS = ("upload", "download", "delete_local", "delete_remote", "conflict", "record", "forget")
MODES = ("mirror", "upload", "download")
CONFLICT_POLICIES = ("keep-both", "newer", "local", "remote")
# SMB keeps mtimes to 100 ns, other servers to 1-2 s; two files of one size whose mtimes lie
# within a second of each other are taken to be the same file.
TOLERANCE_NS = 1_000_000_000

_FRESH = ("new", "changed")
_GONE = ("absent", "deleted")
# What each one-way mode may do: only what writes to its target side (plus snapshot upkeep).
_ALLOWED = {
    "upload": {"upload", "delete_remote", "record", "forget"},
    "download": {"download", "delete_local", "record", "forget"},
}
_LOSER = {"upload": "remote", "download": "local"}


@dataclass(frozen=True)
class Entry:
    """One file as one side lists it."""

    size: int
    mtime_ns: int


@dataclass(frozen=True)
class SnapRow:
    """The last successful sync's record of one path: what each side held then."""

    local: Entry | None
    remote: Entry | None


@dataclass(frozen=True)
class Action:
    """One thing to do for one path; `winner` only for a conflict (None = keep both)."""

    kind: str
    path: str
    reason: str
    winner: str | None = None


def state(now: Entry | None, before: Entry | None) -> str:
    """How one side's file stands against that side's own previous value."""
    if now is None:
        return "absent" if before is None else "deleted"
    if before is None:
        return "new"
    same = now.size == before.size and now.mtime_ns == before.mtime_ns
    return "unchanged" if same else "changed"


def equal_now(a: Entry, b: Entry) -> bool:
    """Whether a local and a remote file are the same now: one size, mtimes within tolerance."""
    return a.size == b.size and abs(a.mtime_ns - b.mtime_ns) <= TOLERANCE_NS


def plan(
    local: Mapping[str, Entry],
    remote: Mapping[str, Entry],
    snapshot: Mapping[str, SnapRow] | None,
    mode: str = "mirror",
    conflict: str = "keep-both",
) -> list[Action]:
    """The actions, sorted by path, that bring both sides in step (snapshot None = first run)."""
    _check_options(mode, conflict)
    paths = set(local) | set(remote) | set(snapshot or ())
    actions = []
    for path in sorted(paths):
        if snapshot is None:
            action = _first_run(path, local.get(path), remote.get(path), conflict)
        else:
            row = snapshot.get(path)
            action = _three_way(path, local.get(path), remote.get(path), row, conflict)
        if action is not None and _allowed(action, mode):
            actions.append(action)
    return actions


def _check_options(mode: str, conflict: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    if conflict not in CONFLICT_POLICIES:
        raise ValueError(f"conflict: {conflict!r} is not one of {', '.join(CONFLICT_POLICIES)}")


def _first_run(path: str, lnow: Entry | None, rnow: Entry | None, policy: str) -> Action:
    # Nothing is ever deleted on a first run: without a snapshot nobody can tell a
    # delete from a file that was never there.
    if lnow is None:
        return Action("download", path, "only on remote")
    if rnow is None:
        return Action("upload", path, "only on local")
    if equal_now(lnow, rnow):
        return Action("record", path, "on both, equal")
    return _conflict(path, lnow, rnow, policy, "on both, different")


def _three_way(
    path: str, lnow: Entry | None, rnow: Entry | None, row: SnapRow | None, policy: str
) -> Action | None:
    ls = state(lnow, row.local if row else None)
    rs = state(rnow, row.remote if row else None)
    if ls in _GONE and rs in _GONE:
        return Action("forget", path, "gone on both sides") if row is not None else None
    if ls in _FRESH and rs in _FRESH:
        return _both_fresh(path, lnow, rnow, ls, rs, policy)
    if ls in _FRESH or rs in _FRESH:
        return _one_fresh(path, lnow, rnow, ls, rs)
    return _none_fresh(path, ls, rs)


def _both_fresh(path: str, lnow: Entry, rnow: Entry, ls: str, rs: str, policy: str) -> Action:
    how = f"{ls} on both" if ls == rs else f"{ls} on local, {rs} on remote"
    if equal_now(lnow, rnow):
        return Action("record", path, f"{how}, equal")
    return _conflict(path, lnow, rnow, policy, f"{how}, different")


def _one_fresh(path: str, lnow: Entry | None, rnow: Entry | None, ls: str, rs: str) -> Action:
    # A file new on one side next to an unchanged, equal one on the other is most likely
    # a transfer whose snapshot row lacks that side: record it instead of copying again.
    if {ls, rs} == {"new", "unchanged"} and equal_now(lnow, rnow):
        side, other_side = ("local", "remote") if ls == "new" else ("remote", "local")
        return Action("record", path, f"new on {side}, equal to {other_side}")
    if ls in _FRESH:
        kind, reason, other = "upload", f"{ls} on local", rs
    else:
        kind, reason, other = "download", f"{rs} on remote", ls
    if other == "deleted":
        reason += f", deleted on {'remote' if kind == 'upload' else 'local'}"
    return Action(kind, path, reason)


def _none_fresh(path: str, ls: str, rs: str) -> Action | None:
    # Here one side is unchanged and the other unchanged, deleted or absent.
    if ls == rs == "unchanged":
        return None
    if ls == "deleted":
        return Action("delete_remote", path, "deleted on local")
    if rs == "deleted":
        return Action("delete_local", path, "deleted on remote")
    if ls == "absent":
        return Action("download", path, "only on remote")
    return Action("upload", path, "only on local")


def _conflict(path: str, lnow: Entry, rnow: Entry, policy: str, reason: str) -> Action:
    if policy == "keep-both":
        winner = None
    elif policy == "newer":
        winner = "local" if lnow.mtime_ns >= rnow.mtime_ns else "remote"
    else:
        winner = policy
    return Action("conflict", path, reason, winner)


def _allowed(action: Action, mode: str) -> bool:
    # A one-way mode leaves a change it may not carry out alone: the snapshot keeps the old
    # row, so the next run sees the same change again.
    if mode == "mirror":
        return True
    if action.kind == "conflict":
        return action.winner != _LOSER[mode]
    return action.kind in _ALLOWED[mode]


def conflict_name(path: str, side: str, when: datetime) -> str:
    """The name a kept-aside copy gets: `dir/name.conflict-<side>-<UTC time>.ext`."""
    if side not in ("local", "remote"):
        raise ValueError(f"side: {side!r} is not local or remote")
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    stamp = when.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    stem, ext = posixpath.splitext(path)
    return f"{stem}.conflict-{side}-{stamp}{ext}"


def summarize(actions: Iterable[Action]) -> dict[str, int]:
    """How many actions of each kind (every kind listed, zeros included), for the dry-run plan."""
    counts = dict.fromkeys(ACTIONS, 0)
    for action in actions:
        counts[action.kind] += 1
    return counts


def deletions(actions: Iterable[Action]) -> tuple[int, int]:
    """How many files the plan deletes: (on local, on remote)."""
    counts = summarize(actions)
    return counts["delete_local"], counts["delete_remote"]


def over_max_delete(actions: Iterable[Action], snapshot_size: int, max_delete: float) -> bool:
    """Whether the plan deletes more than `max_delete` (a fraction) of the snapshot's files."""
    if not 0 <= max_delete <= 1:
        raise ValueError(f"max_delete: {max_delete!r} is not between 0 and 1")
    if snapshot_size <= 0:
        return False
    return sum(deletions(actions)) > max_delete * snapshot_size


def empty_side(
    local_count: int, remote_count: int, snapshot: Mapping[str, SnapRow] | None
) -> str | None:
    """The side that lists no files although the snapshot recorded files there, else None."""
    if not snapshot:
        return None
    if local_count == 0 and any(row.local is not None for row in snapshot.values()):
        return "local"
    if remote_count == 0 and any(row.remote is not None for row in snapshot.values()):
        return "remote"
    return None
