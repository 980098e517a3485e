"""After a run: tell the job's media servers what changed, and log how that went."""

import dataclasses
import logging
import time

from strmsync.mediaserver import make_session, notify
from strmsync.servers import to_media_server
from strmsync.store import Store
from strmsync.strm.engine import RunSummary

log = logging.getLogger(__name__)
CHANGED = ("created", "updated", "deleted", "meta_copied")


def notify_after_run(store: Store, job: dict, summary: RunSummary) -> list:
    """Notify each of the job's media servers; never raises, logs every outcome on the run."""
    if summary.dry_run or not _changed(summary):
        return []
    servers = store.job_servers(job["id"])
    if not servers:
        return []
    # Changes kept on the run are capped; when some are missing, only a library scan is sure
    # to cover every folder.
    complete = len(summary.changes) >= _changed(summary)
    session = make_session()
    lines, results = [], []
    for row in servers:
        try:
            server = to_media_server(row)
            if not complete:
                server = dataclasses.replace(server, refresh_threshold=0)
            result = notify(server, job["target_root"], summary.changes, session)
        except Exception as exc:  # noqa: BLE001 - a media server never fails a sync
            log.exception("notifying %s failed", row["name"])
            lines.append((time.time(), "WARNING", f"media server {row['name']}: {exc}"))
            continue
        results.append(result)
        lines.append((time.time(), "INFO" if result.ok else "WARNING", result.message))
    session.close()
    store.add_log(summary.run_id, lines)
    return results


def _changed(summary: RunSummary) -> int:
    return sum(summary.counts.get(name, 0) for name in CHANGED)
