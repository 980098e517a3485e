"""Cleanup of orphaned manifest entries, with the checks of DESIGN.md §4.4."""

import os
import time

from strmsync.service.runlog import RunLog
from strmsync.strm.drivers.base import Driver
from strmsync.strm.engine.plan import CleanupPlan
from strmsync.strm.engine.writer import TargetWriter


def confirm_gone(orphans: set, listed_nonempty: set, driver: Driver, runlog: RunLog) -> str | None:
    """List again every folder whose files vanished with it; a problem text if one is back.

    A throttled or failing source can answer "empty" for a folder that is not: its files
    count as gone only if a second listing, after a pause, agrees.
    """
    suspects = sorted({os.path.dirname(path) for path in orphans} - listed_nonempty,
                      key=lambda d: (d.count("/"), d))
    if not suspects:
        return None
    if driver.relist_pause:
        time.sleep(driver.relist_pause)
    gone: list[str] = []
    for folder in suspects:
        if any(folder == g or folder.startswith(g + "/") for g in gone if g):
            continue
        try:
            listing = driver.list_dir(folder)
        except Exception as exc:  # noqa: BLE001 - any doubt means no deletion
            return f"could not list {folder or '/'} again: {exc}"
        if listing is not None and not listing.empty:
            return f"{folder or '/'} listed empty, then not: the source is unreliable"
        gone.append(folder)
    runlog.info("confirmed %d folder(s) gone from the source", len(gone))
    return None


def apply_cleanup(plan: CleanupPlan, manifest: dict, writer: TargetWriter, dry_run: bool,
                  runlog: RunLog) -> tuple[int, list, list]:
    """Delete the planned files still as written; returns (deleted, dropped, changes)."""
    deleted, dropped, changes = 0, [], []
    for rel in plan.delete:
        if dry_run:
            deleted += 1
            changes.append(("delete", manifest[rel][0], rel))
            continue
        outcome = writer.delete_managed(rel, manifest[rel])
        dropped.append(rel)
        if outcome == "deleted":
            deleted += 1
            changes.append(("delete", manifest[rel][0], rel))
        elif outcome == "kept":
            runlog.warning("kept %s: changed since strmsync wrote it; no longer managed", rel)
    return deleted, dropped, changes
