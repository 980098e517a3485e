"""Pure planning: what to create, update, skip, copy or delete. No I/O here."""

import hashlib
from dataclasses import dataclass

import _fastscan
from strmsync.config import SyncOptions

STRM, META = "strm", "meta"

# What the writer observed about a target file before planning.
EQUAL, DIFFERENT, MISSING, PRESENT = "equal", "different", "missing", "present"
# Not a regular file, or unreadable. `stat_files`' own marker, so the writer can hand its
# results to planning as they are: None (missing), BROKEN or (size, mtime_ns).
BROKEN = _fastscan.STAT_BROKEN
OBSERVED_STRM = {
    _fastscan.CMP_EQUAL: EQUAL,
    _fastscan.CMP_DIFFERENT: DIFFERENT,
    _fastscan.CMP_MISSING: MISSING,
    _fastscan.CMP_ERROR: BROKEN,
}


@dataclass(slots=True)
class Item:
    """One source file mapped to the target: its `.strm` text or its metadata copy."""

    source_rel: str
    target_rel: str
    kind: str
    size: int
    mtime_ns: int
    text: bytes = b""
    extra: object = None  # the driver's own fact from the listing (an OpenList sign)

    def manifest_row(self) -> tuple:
        """The manifest entry recording that strmsync wrote this file."""
        if self.kind == STRM:
            return (self.target_rel, STRM, digest(self.text), None, None)
        return (self.target_rel, META, None, self.size, self.mtime_ns)


def digest(data: bytes) -> str:
    """A short content digest for manifest entries (identity, not security)."""
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def map_names(dir_rel: str, files: list, options: SyncOptions, strm_text) -> tuple[list, list]:
    """Map one folder's files to Items; returns `(items, rejected)` with rejected paths.

    A file may carry a 4th element, the driver's extra, handed to `strm_text(rel, extra)`.
    """
    # Runs once per source file: the names are bound once, the folder prefix is built once.
    items, rejected = [], []
    media, meta = options.media_exts, options.meta_exts
    classify, target_name, safe_relpath = (_fastscan.classify, _fastscan.target_name,
                                           _fastscan.safe_relpath)
    kind_none, kind_strm = _fastscan.KIND_NONE, _fastscan.KIND_STRM
    prefix = dir_rel + "/" if dir_rel else ""
    for entry in files:
        name = entry[0]
        kind = classify(name, media, meta)
        if kind == kind_none:
            continue
        source_rel = prefix + name
        try:
            target_rel = safe_relpath(prefix + target_name(name, kind))
        except _fastscan.PathEscape as exc:
            rejected.append((source_rel, str(exc)))
            continue
        extra = entry[3] if len(entry) > 3 else None
        if kind == kind_strm:
            text = (strm_text(source_rel) if extra is None
                    else strm_text(source_rel, extra)).encode()
            items.append(Item(source_rel, target_rel, STRM, entry[1], entry[2], text, extra))
        else:
            items.append(Item(source_rel, target_rel, META, entry[1], entry[2], b"", extra))
    return items, rejected


def plan_item(item: Item, observed, managed, options: SyncOptions) -> tuple[str, bool]:
    """Decide one item: `(action, record)` — record says the manifest must be written.

    Actions: create, update, skip, copy (metadata), fail, ignore. `observed` is one of the
    observation constants for a `.strm`, or None / `(size, mtime_ns)` / BROKEN for metadata.
    """
    if item.kind == STRM:
        return _plan_strm(item, observed, managed)
    if options.meta_mode == "none":
        return "ignore", False
    if observed is None:
        return "copy", True
    if observed == BROKEN:
        return "fail", False
    if options.meta_update == "update" and managed is not None:
        size, mtime_ns = observed
        # Whole seconds: mounts and FUSE file systems often keep no finer mtimes.
        if size != item.size or mtime_ns // 10**9 != item.mtime_ns // 10**9:
            return "copy", True
    return "skip", False


def _plan_strm(item: Item, observed: str, managed) -> tuple[str, bool]:
    if observed == MISSING:
        return "create", True
    if observed == DIFFERENT:
        return "update", True
    if observed == BROKEN:
        return "fail", False
    if observed == EQUAL:
        # Equal content is what we would have written: (re)claim it if the record lacks it.
        return "skip", managed is None or managed[1] != digest(item.text)
    return "skip", False


@dataclass(frozen=True)
class CleanupPlan:
    """The managed files a run deletes, or why it deletes none."""

    delete: tuple = ()
    blocked: str | None = None
    skipped: str | None = None


def plan_cleanup(orphans: list, managed_count: int, options: SyncOptions, mode: str,
                 scan_problem: str | None, unseen_prefixes: tuple = ()) -> CleanupPlan:
    """Apply DESIGN.md §4.4: full mode, a clean scan, manifest entries, the max-delete share."""
    if mode != "full" or options.strategy != "full":
        return CleanupPlan(skipped=f"cleanup runs only in full mode (this run: {mode})")
    if options.cleanup == "off":
        return CleanupPlan(skipped="cleanup is off for this job")
    if scan_problem:
        return CleanupPlan(skipped=f"cleanup skipped: {scan_problem}")
    candidates = tuple(sorted(path for path in orphans
                              if not _under_any(path, unseen_prefixes)))
    if not candidates:
        return CleanupPlan()
    limit = options.max_delete * managed_count
    if len(candidates) > limit:
        return CleanupPlan(blocked=(
            f"cleanup would delete {len(candidates)} of {managed_count} managed files,"
            f" more than the max-delete share of {options.max_delete:.0%}; deleted nothing"))
    return CleanupPlan(delete=candidates)


def _under_any(path: str, prefixes: tuple) -> bool:
    return any(path.startswith(prefix + "/") for prefix in prefixes)
