"""One batch of items: observe the target, plan, and (unless dry) write."""

import os
import time
from collections import Counter
from dataclasses import dataclass, field

import _fastscan
from strmsync.config import SyncOptions
from strmsync.errors import FatalError
from strmsync.strm.drivers.base import Driver
from strmsync.strm.engine.plan import META, STRM, plan_item
from strmsync.strm.engine.writer import TargetWriter

COUNTED = {"create": "created", "update": "updated", "skip": "skipped", "copy": "meta_copied",
           "fail": "failed"}


@dataclass
class BatchOutcome:
    """What a batch did: counts, manifest rows to record, changes made, failures; how many
    items it had and how long its work took (`seconds`, its deferred writes included once
    settled). With `pending`, its `.strm` writes or metadata copies are still under way:
    `settle` first."""

    counts: Counter = field(default_factory=Counter)
    rows: list = field(default_factory=list)
    changes: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    items: int = 0
    seconds: float = 0.0
    pending: list = field(default_factory=list)  # (account, entries, WriteJob or CopyJob)

    def settle(self, writer: TargetWriter) -> None:
        """Wait for the batch's deferred writes and copies and account for them (FatalError
        for a full or read-only target, as when they are done at once)."""
        pending, self.pending = self.pending, []
        for account, entries, job in pending:
            codes = writer.checked(job.codes())
            self.seconds += job.seconds
            account(entries, codes, self)


def process_batch(items: list, manifest, options: SyncOptions, writer: TargetWriter,
                  driver: Driver, read_strm: bool, dry_run: bool,
                  observed: list | None = None, defer_writes: bool = False) -> BatchOutcome:
    """Observe (unless `observed` is given), plan and apply one batch; only FatalError
    escapes, per-file errors are kept. `manifest` is a dict or a `_fastscan.ManifestIndex`.

    With `defer_writes`, the `.strm` writes and the copies from a local source are started
    and left under way (the compiled build does them on a thread of its own while the run
    scans on): `settle` the outcome.
    """
    began = time.perf_counter()
    outcome = BatchOutcome(items=len(items))
    if observed is None:
        observed = writer.observe(items, read_strm)
    unreadable = _stat_sources(items, observed, manifest, options, driver)
    writes, copies, planned = [], [], Counter()
    managed = manifest.get
    for i, (item, seen) in enumerate(zip(items, observed, strict=True)):
        if unreadable and i in unreadable:
            outcome.failures.append((item.target_rel, unreadable[i]))
            continue
        action, record = plan_item(item, seen, managed(item.target_rel), options)
        planned[action] += 1
        if action == "skip":  # most items of most runs: test it first
            if record and not dry_run:
                outcome.rows.append(item.manifest_row())
        elif action == "fail":
            outcome.failures.append((item.target_rel, "target exists but is not a regular file"))
        elif action == "copy":
            copies.append(item)
        elif action in ("create", "update"):
            writes.append((item, action))
    for action, count in planned.items():
        if action in COUNTED and action != "fail":
            outcome.counts[COUNTED[action]] += count
    outcome.counts["scanned"] += len(items)
    outcome.counts["failed"] += len(outcome.failures)
    if dry_run:
        outcome.changes.extend((action, STRM, item.target_rel) for item, action in writes)
        outcome.changes.extend(("copy", item.kind, item.target_rel) for item in copies)
        outcome.seconds = time.perf_counter() - began
        return outcome
    if writes and defer_writes:
        outcome.pending.append((_account_writes, writes,
                                writer.start_strm([item for item, _ in writes])))
    elif writes:
        _account_writes(writes, writer.write_strm([item for item, _ in writes]), outcome)
    if copies:
        _copy_meta(copies, writer, driver, outcome, defer_writes)
    outcome.seconds = time.perf_counter() - began
    return outcome


def _stat_sources(items: list, observed: list, manifest, options: SyncOptions,
                  driver: Driver) -> dict:
    """Learn the size and mtime of the metadata sources planning needs and the listing left
    UNKNOWN: those to copy (the copy gets the mtime, the manifest both) and, with
    meta_update "update", those to compare. `{index: why}` for sources that cannot be stat'ed.

    A driver whose listings leave sizes UNKNOWN (the local one: its walk stats no regular
    file) offers `stat_files(rels)`; remote listings always carry sizes.
    """
    if options.meta_mode == "none":
        return {}
    update = options.meta_update == "update"
    wanted = [i for i, (item, seen) in enumerate(zip(items, observed, strict=True))
              if item.kind == META and item.size == _fastscan.UNKNOWN and (
                  seen is None or (update and type(seen) is tuple
                                   and item.target_rel in manifest))]
    if not wanted:
        return {}
    unreadable = {}
    stats = driver.stat_files([items[i].source_rel for i in wanted])
    for i, stat in zip(wanted, stats, strict=True):
        if type(stat) is tuple:
            items[i].size, items[i].mtime_ns = stat
        else:
            unreadable[i] = ("source gone since it was listed" if stat is None
                             else "source is not a readable regular file")
    return unreadable


def _account_writes(writes: list, codes: list, outcome: BatchOutcome) -> None:
    for (item, action), code in zip(writes, codes, strict=True):
        if code:
            outcome.counts[COUNTED[action]] -= 1
            outcome.counts["failed"] += 1
            outcome.failures.append((item.target_rel, f"write failed: errno {code}"))
        else:
            outcome.rows.append(item.manifest_row())
            outcome.changes.append((action, STRM, item.target_rel))


def _copy_meta(copies: list, writer: TargetWriter, driver: Driver, outcome: BatchOutcome,
               defer: bool) -> None:
    # A local source without an API fallback is copied in one C call per batch: through
    # `driver.open`, each file costs a dozen syscalls from Python, and each of them a GIL
    # hand-off between the run's threads (on tmpfs most of a first sync's time).
    local_paths = getattr(driver, "local_paths", None)  # only local drivers have it
    sources = local_paths([item.source_rel for item in copies]) if local_paths else None
    if sources is not None and defer:
        outcome.pending.append((_account_copies, copies, writer.start_copies(copies, sources)))
        return
    if sources is not None:
        _account_copies(copies, writer.copy_local(copies, sources), outcome)
        return
    for item in copies:
        try:
            source = (driver.open(item.source_rel) if item.extra is None
                      else driver.open(item.source_rel, item.extra))
            writer.copy_meta(item, source)
        except FatalError:
            raise
        except Exception as exc:  # noqa: BLE001 - one metadata file never stops the run
            _copy_failed(item, exc, outcome)
            continue
        _copied(item, outcome)


def _account_copies(copies: list, codes: list, outcome: BatchOutcome) -> None:
    for item, code in zip(copies, codes, strict=True):
        if code:
            _copy_failed(item, os.strerror(code), outcome)
        else:
            _copied(item, outcome)


def _copied(item, outcome: BatchOutcome) -> None:
    outcome.rows.append(item.manifest_row())
    outcome.changes.append(("copy", item.kind, item.target_rel))


def _copy_failed(item, why, outcome: BatchOutcome) -> None:
    outcome.counts["meta_copied"] -= 1
    outcome.counts["failed"] += 1
    outcome.failures.append((item.target_rel, f"metadata copy failed: {why}"))
