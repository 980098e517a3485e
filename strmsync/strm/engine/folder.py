"""One folder of a local walk in one `_fastscan.scan_folder` call (issue 16).

The call maps names to targets, builds the `.strm` texts, observes the target files and
checks them off the manifest; it hands back only the files planning must decide, so a
folder where nothing changed costs no Python per file. The decisions stay in `plan.py`.
"""

from dataclasses import dataclass, field

import _fastscan
from strmsync.config import SyncOptions
from strmsync.strm.drivers.local import LocalDriver
from strmsync.strm.engine.plan import META, OBSERVED_STRM, STRM, Item


@dataclass
class FolderOutcome:
    """What a folder scan found: items with their observations, entries for the general
    path, and how many files need nothing (`skipped`) or are ignored metadata."""

    items: list = field(default_factory=list)
    observed: list = field(default_factory=list)
    odd: list = field(default_factory=list)
    skipped: int = 0
    ignored: int = 0


def folder_rules(driver, options: SyncOptions, read_strm: bool) -> tuple | None:
    """`scan_folder`'s rules when the driver's `.strm` text is `build_strm(mode, base, rel)`
    (the local driver's), else None: other drivers build texts of their own."""
    if type(driver) is not LocalDriver:
        return None
    mode = options.strm_mode
    base = {"path": driver.root, "mount": driver.mount_prefix, "url": driver.url_base}[mode]
    if options.meta_mode == "none":
        meta_rule = _fastscan.META_IGNORE
    elif options.meta_update == "update":
        meta_rule = _fastscan.META_COMPARE
    else:
        meta_rule = _fastscan.META_KEEP
    return (options.media_exts, options.meta_exts, mode, base, read_strm, meta_rule)


def scan_listing(root: str, listing, rules: tuple, manifest) -> FolderOutcome:
    """Scan one listed folder against the target tree under `root`."""
    todo, odd, skipped, ignored = _fastscan.scan_folder(root, listing.dir, listing.files,
                                                        rules, manifest)
    out = FolderOutcome(odd=odd, skipped=skipped, ignored=ignored)
    prefix = listing.dir + "/" if listing.dir else ""
    for entry, target_rel, kind, text, seen in todo:
        if kind == _fastscan.KIND_STRM:
            out.items.append(Item(prefix + entry[0], target_rel, STRM, entry[1], entry[2], text))
            out.observed.append(OBSERVED_STRM[seen])
        else:
            out.items.append(Item(prefix + entry[0], target_rel, META, entry[1], entry[2]))
            out.observed.append(seen)
    return out
