"""How much memory strmsync's manifest lookups take: load one job's manifest, print the RSS.

Run: `python bench/manifest_probe.py DATADIR` (PYTHONPATH must reach strmsync) prints
`{"entries", "rss_before_kb", "rss_after_kb", "manifest_kb"}`. The benchmark compares the
growth of `manifest_kb` with the growth of a whole sync's peak RSS between two library sizes.
"""

import json
import os
import sys

from strmsync.store import Store


def resident_kb() -> int:
    """This process's current resident set size in KiB (Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("VmRSS missing from /proc/self/status")


def main(data_dir: str) -> int:
    """Load the only job's manifest as the engine does (a packed `ManifestIndex`) and report
    what it costs."""
    store = Store(os.path.join(data_dir, "strmsync.db"))
    job_ids = [row["id"] for row in store.db.query("SELECT id FROM jobs")]
    if len(job_ids) != 1:
        print(f"manifest_probe: expected one job in {data_dir}, found {len(job_ids)}",
              file=sys.stderr)
        return 1
    before = resident_kb()
    manifest = store.load_manifest_index(job_ids[0])  # what a run loads (issue 16)
    after = resident_kb()
    print(json.dumps({"entries": len(manifest), "rss_before_kb": before, "rss_after_kb": after,
                      "manifest_kb": after - before}))
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
