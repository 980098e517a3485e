"""Mirror detection and SMB names: literal listings and snapshots in, actions out."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strmsync.mirror.detect import (
    ACTIONS,
    TOLERANCE_NS,
    Action,
    Entry,
    SnapRow,
    conflict_name,
    deletions,
    empty_side,
    equal_now,
    over_max_delete,
    plan,
    state,
    summarize,
)
from strmsync.mirror.names import case_twins, refused_reason

T = 1_700_000_000_000_000_000
OLD_L = Entry(10, T)  # what the snapshot says local held
OLD_R = Entry(10, T + 300)  # what it says the share held (SMB's own mtime, 300 ns off)
NEW_L = Entry(20, T + 5_000_000_000)
NEW_R = Entry(30, T + 9_000_000_000)
EDIT_L = Entry(11, T + 60_000_000_000)
EDIT_R = Entry(12, T + 70_000_000_000)
SAME_L = Entry(40, T + 80_000_000_000)  # equal now to SAME_R: one size, 0.4 s apart
SAME_R = Entry(40, T + 80_400_000_000)

# One side's state, as (now, what the snapshot held for it).
SIDE = {
    "L": {
        "absent": (None, None),
        "new": (NEW_L, None),
        "changed": (EDIT_L, OLD_L),
        "unchanged": (OLD_L, OLD_L),
        "deleted": (None, OLD_L),
    },
    "R": {
        "absent": (None, None),
        "new": (NEW_R, None),
        "changed": (EDIT_R, OLD_R),
        "unchanged": (OLD_R, OLD_R),
        "deleted": (None, OLD_R),
    },
}

# The whole decision table under keep-both: local state, remote state, the action in mirror
# mode as (kind, reason) or None, and the modes (m = mirror, u = upload, d = download)
# that emit it.
TABLE = [
    ("absent", "absent", ("forget", "gone on both sides"), "mud"),
    ("absent", "new", ("download", "new on remote"), "md"),
    ("absent", "changed", ("download", "changed on remote"), "md"),
    ("absent", "unchanged", ("download", "only on remote"), "md"),
    ("absent", "deleted", ("forget", "gone on both sides"), "mud"),
    ("new", "absent", ("upload", "new on local"), "mu"),
    ("new", "new", ("conflict", "new on both, different"), "mud"),
    ("new", "changed", ("conflict", "new on local, changed on remote, different"), "mud"),
    ("new", "unchanged", ("upload", "new on local"), "mu"),
    ("new", "deleted", ("upload", "new on local, deleted on remote"), "mu"),
    ("changed", "absent", ("upload", "changed on local"), "mu"),
    ("changed", "new", ("conflict", "changed on local, new on remote, different"), "mud"),
    ("changed", "changed", ("conflict", "changed on both, different"), "mud"),
    ("changed", "unchanged", ("upload", "changed on local"), "mu"),
    ("changed", "deleted", ("upload", "changed on local, deleted on remote"), "mu"),
    ("unchanged", "absent", ("upload", "only on local"), "mu"),
    ("unchanged", "new", ("download", "new on remote"), "md"),
    ("unchanged", "changed", ("download", "changed on remote"), "md"),
    ("unchanged", "unchanged", None, ""),
    ("unchanged", "deleted", ("delete_local", "deleted on remote"), "md"),
    ("deleted", "absent", ("forget", "gone on both sides"), "mud"),
    ("deleted", "new", ("download", "new on remote, deleted on local"), "md"),
    ("deleted", "changed", ("download", "changed on remote, deleted on local"), "md"),
    ("deleted", "unchanged", ("delete_remote", "deleted on local"), "mu"),
    ("deleted", "deleted", ("forget", "gone on both sides"), "mud"),
]
MODE_LETTER = {"mirror": "m", "upload": "u", "download": "d"}


def _one_path(ls: str, rs: str) -> tuple[dict, dict, dict]:
    lnow, lbefore = SIDE["L"][ls]
    rnow, rbefore = SIDE["R"][rs]
    local = {"f.strm": lnow} if lnow else {}
    remote = {"f.strm": rnow} if rnow else {}
    # absent/absent keeps a row with neither side, the only way that cell can arise
    keep_row = lbefore or rbefore or (ls, rs) == ("absent", "absent")
    snapshot = {"f.strm": SnapRow(lbefore, rbefore)} if keep_row else {}
    return local, remote, snapshot


@pytest.mark.parametrize("mode", ["mirror", "upload", "download"])
@pytest.mark.parametrize(
    ("ls", "rs", "expected", "modes"), TABLE, ids=[f"{r[0]}-{r[1]}" for r in TABLE]
)
def test_decision_table(ls, rs, expected, modes, mode):
    local, remote, snapshot = _one_path(ls, rs)
    actions = plan(local, remote, snapshot, mode=mode)
    if MODE_LETTER[mode] in modes:
        assert actions == [Action(expected[0], "f.strm", expected[1])]
    else:
        assert actions == []


def test_table_covers_every_cell():
    states = ("absent", "new", "changed", "unchanged", "deleted")
    assert {(r[0], r[1]) for r in TABLE} == {(a, b) for a in states for b in states}


# The cells where both sides are new or changed, now equal: recorded in every mode.
@pytest.mark.parametrize("mode", ["mirror", "upload", "download"])
@pytest.mark.parametrize(
    ("lnow", "lbefore", "rnow", "rbefore", "reason"),
    [
        (SAME_L, None, SAME_R, None, "new on both, equal"),
        (SAME_L, OLD_L, SAME_R, OLD_R, "changed on both, equal"),
        (SAME_L, None, SAME_R, OLD_R, "new on local, changed on remote, equal"),
        (SAME_L, OLD_L, SAME_R, None, "changed on local, new on remote, equal"),
        (OLD_L, OLD_L, Entry(10, T + 900_000_000), None, "new on remote, equal to local"),
        (Entry(10, T - 900_000_000), None, OLD_R, OLD_R, "new on local, equal to remote"),
    ],
)
def test_equal_now_is_recorded(lnow, lbefore, rnow, rbefore, reason, mode):
    snapshot = {"a/f.nfo": SnapRow(lbefore, rbefore)}
    actions = plan({"a/f.nfo": lnow}, {"a/f.nfo": rnow}, snapshot, mode=mode)
    assert actions == [Action("record", "a/f.nfo", reason)]


def test_unchanged_both_with_a_full_row_is_silent_even_if_the_row_disagrees():
    snapshot = {"f": SnapRow(Entry(1, T), Entry(2, T))}
    assert plan({"f": Entry(1, T)}, {"f": Entry(2, T)}, snapshot) == []


def test_a_changed_side_next_to_an_equal_unchanged_one_is_still_copied():
    # local changed against its own record, even though it now looks like remote
    snapshot = {"f": SnapRow(Entry(10, T - 5_000_000_000), OLD_R)}
    assert plan({"f": OLD_L}, {"f": OLD_R}, snapshot) == [Action("upload", "f", "changed on local")]


# Conflict policy x mode: local is EDIT_L, remote EDIT_R (remote newer) unless swapped.
LOCAL_NEWER = (Entry(11, T + 90_000_000_000), Entry(12, T + 70_000_000_000))
REMOTE_NEWER = (Entry(11, T + 60_000_000_000), Entry(12, T + 70_000_000_000))
TIE = (Entry(11, T + 70_000_000_000), Entry(12, T + 70_000_000_000))
POLICY_TABLE = [
    # policy, (local now, remote now), mode, winner ("none" = no action)
    ("keep-both", REMOTE_NEWER, "mirror", None),
    ("keep-both", REMOTE_NEWER, "upload", None),
    ("keep-both", REMOTE_NEWER, "download", None),
    ("local", REMOTE_NEWER, "mirror", "local"),
    ("local", REMOTE_NEWER, "upload", "local"),
    ("local", REMOTE_NEWER, "download", "none"),
    ("remote", LOCAL_NEWER, "mirror", "remote"),
    ("remote", LOCAL_NEWER, "upload", "none"),
    ("remote", LOCAL_NEWER, "download", "remote"),
    ("newer", LOCAL_NEWER, "mirror", "local"),
    ("newer", LOCAL_NEWER, "upload", "local"),
    ("newer", LOCAL_NEWER, "download", "none"),
    ("newer", REMOTE_NEWER, "mirror", "remote"),
    ("newer", REMOTE_NEWER, "upload", "none"),
    ("newer", REMOTE_NEWER, "download", "remote"),
    ("newer", TIE, "mirror", "local"),
    ("newer", TIE, "upload", "local"),
    ("newer", TIE, "download", "none"),
]


@pytest.mark.parametrize("first_run", [False, True], ids=["snapshot", "first-run"])
@pytest.mark.parametrize(("policy", "sides", "mode", "winner"), POLICY_TABLE)
def test_conflict_policy(policy, sides, mode, winner, first_run):
    lnow, rnow = sides
    snapshot = None if first_run else {"x.nfo": SnapRow(OLD_L, OLD_R)}
    reason = "on both, different" if first_run else "changed on both, different"
    actions = plan({"x.nfo": lnow}, {"x.nfo": rnow}, snapshot, mode=mode, conflict=policy)
    if winner == "none":
        assert actions == []
    else:
        assert actions == [Action("conflict", "x.nfo", reason, winner)]


FIRST_LOCAL = {"only-l.strm": NEW_L, "both-same.nfo": SAME_L, "both-diff.jpg": EDIT_L}
FIRST_REMOTE = {"only-r.nfo": NEW_R, "both-same.nfo": SAME_R, "both-diff.jpg": EDIT_R}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (
            "mirror",
            [
                Action("conflict", "both-diff.jpg", "on both, different"),
                Action("record", "both-same.nfo", "on both, equal"),
                Action("upload", "only-l.strm", "only on local"),
                Action("download", "only-r.nfo", "only on remote"),
            ],
        ),
        (
            "upload",
            [
                Action("conflict", "both-diff.jpg", "on both, different"),
                Action("record", "both-same.nfo", "on both, equal"),
                Action("upload", "only-l.strm", "only on local"),
            ],
        ),
        (
            "download",
            [
                Action("conflict", "both-diff.jpg", "on both, different"),
                Action("record", "both-same.nfo", "on both, equal"),
                Action("download", "only-r.nfo", "only on remote"),
            ],
        ),
    ],
)
def test_first_run_is_the_union_and_sorted(mode, expected):
    assert plan(FIRST_LOCAL, FIRST_REMOTE, None, mode=mode) == expected


def test_empty_snapshot_is_not_a_first_run():
    assert plan({"a": NEW_L}, {}, {}) == [Action("upload", "a", "new on local")]
    assert plan({"a": NEW_L}, {}, None) == [Action("upload", "a", "only on local")]


def test_first_run_never_deletes_even_with_one_side_empty():
    actions = plan({}, {"a": NEW_R, "b/c": NEW_R}, None)
    assert [a.kind for a in actions] == ["download", "download"]


def test_many_paths_sorted_and_silent_ones_left_out():
    local = {"b": OLD_L, "a": EDIT_L, "c/d": OLD_L}
    remote = {"b": OLD_R, "a": OLD_R}
    snapshot = {p: SnapRow(OLD_L, OLD_R) for p in ("a", "b", "c/d", "gone")}
    assert plan(local, remote, snapshot) == [
        Action("upload", "a", "changed on local"),
        Action("delete_local", "c/d", "deleted on remote"),
        Action("forget", "gone", "gone on both sides"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"mode": "sideways"}, "mode: 'sideways'"), ({"conflict": "older"}, "conflict: 'older'")],
)
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plan({}, {}, None, **kwargs)


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        (None, None, "absent"),
        (Entry(1, 5), None, "new"),
        (None, Entry(1, 5), "deleted"),
        (Entry(1, 5), Entry(1, 5), "unchanged"),
        (Entry(1, 6), Entry(1, 5), "changed"),  # 1 ns is a change against its own record
        (Entry(2, 5), Entry(1, 5), "changed"),
    ],
)
def test_state(now, before, expected):
    assert state(now, before) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (Entry(5, T), Entry(5, T), True),
        (Entry(5, T), Entry(5, T + TOLERANCE_NS), True),
        (Entry(5, T + TOLERANCE_NS), Entry(5, T), True),
        (Entry(5, T), Entry(5, T + TOLERANCE_NS + 1), False),
        (Entry(5, T), Entry(6, T), False),
    ],
)
def test_equal_now(a, b, expected):
    assert equal_now(a, b) is expected


WHEN = datetime(2026, 12, 7, 6, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("path", "side", "when", "expected"),
    [
        ("a/b.nfo", "remote", WHEN, "a/b.conflict-remote-20261207T061500Z.nfo"),
        ("b.nfo", "local", WHEN, "b.conflict-local-20261207T061500Z.nfo"),
        ("a/README", "local", WHEN, "a/README.conflict-local-20261207T061500Z"),
        (".hidden", "remote", WHEN, ".hidden.conflict-remote-20261207T061500Z"),
        ("v1.0/notes", "local", WHEN, "v1.0/notes.conflict-local-20261207T061500Z"),
        ("a/x.tar.gz", "local", WHEN, "a/x.tar.conflict-local-20261207T061500Z.gz"),
        (
            "b.nfo",
            "remote",
            datetime(2026, 12, 7, 8, 15, tzinfo=timezone(timedelta(hours=2))),
            "b.conflict-remote-20261207T061500Z.nfo",
        ),
        ("b.nfo", "remote", datetime(2026, 12, 7, 6, 15), "b.conflict-remote-20261207T061500Z.nfo"),
    ],
)
def test_conflict_name(path, side, when, expected):
    assert conflict_name(path, side, when) == expected


def test_conflict_name_refuses_an_unknown_side():
    with pytest.raises(ValueError, match="side: 'both'"):
        conflict_name("a", "both", WHEN)


PLAN = [
    Action("upload", "a", "new on local"),
    Action("delete_local", "b", "deleted on remote"),
    Action("delete_remote", "c", "deleted on local"),
    Action("delete_remote", "d", "deleted on local"),
    Action("conflict", "e", "changed on both, different"),
]


def test_summarize_and_deletions():
    counts = summarize(PLAN)
    assert list(counts) == list(ACTIONS)
    assert counts == {
        "upload": 1,
        "download": 0,
        "delete_local": 1,
        "delete_remote": 2,
        "conflict": 1,
        "record": 0,
        "forget": 0,
    }
    assert deletions(PLAN) == (1, 2)
    assert deletions([]) == (0, 0)


@pytest.mark.parametrize(
    ("snapshot_size", "max_delete", "expected"),
    [
        (6, 0.5, False),  # 3 deletions of 6 is exactly the limit
        (5, 0.5, True),
        (100, 0.5, False),
        (0, 0.5, False),  # an empty snapshot never trips
        (0, 0.0, False),
        (3, 1.0, False),
        (1000, 0.0, True),
    ],
)
def test_over_max_delete(snapshot_size, max_delete, expected):
    assert over_max_delete(PLAN, snapshot_size, max_delete) is expected


def test_over_max_delete_without_deletions_never_trips():
    assert over_max_delete([Action("upload", "a", "new on local")], 10, 0.0) is False


@pytest.mark.parametrize("max_delete", [-0.1, 1.5])
def test_over_max_delete_refuses_a_fraction_out_of_range(max_delete):
    with pytest.raises(ValueError, match="max_delete:"):
        over_max_delete(PLAN, 10, max_delete)


BOTH_ROWS = {"a": SnapRow(OLD_L, OLD_R), "b": SnapRow(OLD_L, OLD_R)}


@pytest.mark.parametrize(
    ("local_count", "remote_count", "snapshot", "expected"),
    [
        (0, 2, BOTH_ROWS, "local"),
        (2, 0, BOTH_ROWS, "remote"),
        (0, 0, BOTH_ROWS, "local"),
        (2, 2, BOTH_ROWS, None),
        (0, 0, None, None),  # first run
        (0, 0, {}, None),
        (0, 5, {"a": SnapRow(None, OLD_R)}, None),  # local never had files
        (3, 0, {"a": SnapRow(OLD_L, None)}, None),
        (3, 0, {"a": SnapRow(OLD_L, None), "b": SnapRow(None, OLD_R)}, "remote"),
    ],
)
def test_empty_side(local_count, remote_count, snapshot, expected):
    assert empty_side(local_count, remote_count, snapshot) == expected


# --- a tiny in-memory executor, to check that a carried-out plan leaves nothing to do ---

STAMP = datetime(2030, 1, 1, tzinfo=timezone.utc)


def _carry_out(actions, local, remote, snapshot, mode):
    local, remote = dict(local), dict(remote)
    snap = dict(snapshot or {})
    for a in actions:
        p = a.path
        if a.kind == "upload" or (a.kind == "conflict" and a.winner == "local"):
            remote[p] = local[p]
        elif a.kind == "download" or (a.kind == "conflict" and a.winner == "remote"):
            local[p] = remote[p]
        elif a.kind == "conflict":  # keep both: the target side's copy goes aside
            _keep_both(p, local, remote, snap, mode)
        elif a.kind == "delete_local":
            del local[p]
        elif a.kind == "delete_remote":
            del remote[p]
        if a.kind in ("delete_local", "delete_remote", "forget"):
            snap.pop(p, None)
        else:
            snap[p] = SnapRow(local[p], remote[p])
    return local, remote, snap


def _keep_both(p, local, remote, snap, mode):
    if mode == "download":
        aside = conflict_name(p, "local", STAMP)
        local[aside], local[p] = local[p], remote[p]
        return
    aside = conflict_name(p, "remote", STAMP)
    remote[aside], remote[p] = remote[p], local[p]
    if mode == "mirror":
        local[aside] = remote[aside]
        snap[aside] = SnapRow(local[aside], remote[aside])


PATHS = st.sampled_from(["a", "b", "c/d", "c/e"])
# sizes and mtimes close enough to be equal now, or not, or exactly equal
ENTRIES = st.builds(
    Entry,
    size=st.integers(0, 2),
    mtime_ns=st.sampled_from([0, 500_000_000, 1_000_000_000, 3_000_000_000]),
)
LISTING = st.dictionaries(PATHS, ENTRIES, max_size=4)
SNAPSHOT = st.none() | st.dictionaries(
    PATHS, st.builds(SnapRow, st.none() | ENTRIES, st.none() | ENTRIES), max_size=4
)
MODES = st.sampled_from(["mirror", "upload", "download"])
POLICIES = st.sampled_from(["keep-both", "newer", "local", "remote"])


@settings(max_examples=300, deadline=None)
@given(LISTING, LISTING, SNAPSHOT, MODES, POLICIES)
def test_property_plan_shape(local, remote, snapshot, mode, policy):
    actions = plan(local, remote, snapshot, mode=mode, conflict=policy)
    paths = [a.path for a in actions]
    assert paths == sorted(set(paths))
    assert all(a.kind in ACTIONS and a.reason for a in actions)
    if snapshot is None:
        assert deletions(actions) == (0, 0)
    kinds = {a.kind for a in actions}
    winners = {a.winner for a in actions if a.kind == "conflict"}
    if mode == "upload":
        assert not kinds & {"download", "delete_local"} and "remote" not in winners
    if mode == "download":
        assert not kinds & {"upload", "delete_remote"} and "local" not in winners


@settings(max_examples=300, deadline=None)
@given(LISTING, LISTING, SNAPSHOT, MODES, POLICIES)
def test_property_a_carried_out_plan_leaves_nothing_to_do(local, remote, snapshot, mode, policy):
    actions = plan(local, remote, snapshot, mode=mode, conflict=policy)
    local2, remote2, snap2 = _carry_out(actions, local, remote, snapshot, mode)
    assert plan(local2, remote2, snap2, mode=mode, conflict=policy) == []
    if mode == "mirror":
        assert set(local2) == set(remote2)


# --- names an SMB share cannot hold ---


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("Movies/Alien (1979)/Alien.strm", None),
        ("a/b.c/d e.nfo", None),
        ("CONSOLE/COM0.strm", None),
        ("Movies/Who?.strm", "'Who?.strm': holds '?', which SMB refuses"),
        ("a:b", "'a:b': holds ':', which SMB refuses"),
        ("x*", "'x*': holds '*', which SMB refuses"),
        ("<x>", "'<x>': holds '<', which SMB refuses"),
        ("x>", "'x>': holds '>', which SMB refuses"),
        ("a|b", "'a|b': holds '|', which SMB refuses"),
        ('say "hi"', "'say \"hi\"': holds '\"', which SMB refuses"),
        ("back\\slash", "'back\\\\slash': holds '\\\\', which SMB refuses"),
        ("tab\there", "'tab\\there': holds control character 0x09, which SMB refuses"),
        ("nul\x00", "'nul\\x00': holds control character 0x00, which SMB refuses"),
        ("Show/Season 1./e.strm", "'Season 1.': ends with a dot, which SMB drops"),
        ("Show /e.strm", "'Show ': ends with a space, which SMB drops"),
        ("con", "'con': is a reserved DOS device name"),
        ("a/CON.nfo", "'CON.nfo': is a reserved DOS device name"),
        ("Nul.tar.gz", "'Nul.tar.gz': is a reserved DOS device name"),
        ("aux/x", "'aux': is a reserved DOS device name"),
        ("PRN.txt", "'PRN.txt': is a reserved DOS device name"),
        ("com1.strm", "'com1.strm': is a reserved DOS device name"),
        ("LPT9", "'LPT9': is a reserved DOS device name"),
    ],
)
def test_refused_reason(rel, expected):
    assert refused_reason(rel) == expected


@pytest.mark.parametrize(
    ("name", "refused"),
    [
        ("a" * 255, False),
        ("a" * 256, True),
        ("é" * 255, False),  # 510 UTF-8 bytes, but 255 UTF-16 units: SMB holds it
        ("\U0001f3ac" * 127 + "a", False),  # a surrogate pair counts as two units
        ("\U0001f3ac" * 128, True),
    ],
)
def test_refused_reason_counts_utf16_units(name, refused):
    reason = refused_reason(f"dir/{name}")
    assert (reason is not None) is refused
    if refused:
        assert "UTF-16 units long, SMB allows 255" in reason


def test_case_twins():
    paths = ["b/X.nfo", "a.strm", "A.strm", "b/x.NFO", "b/x.nfo", "c", "STRASSE", "straße"]
    assert case_twins(paths) == [["A.strm", "a.strm"], ["b/X.nfo", "b/x.NFO", "b/x.nfo"]]
    assert case_twins(["a", "b/a", "a"]) == []
    assert case_twins(["Ä/é", "ä/É"]) == [["Ä/é", "ä/É"]]
