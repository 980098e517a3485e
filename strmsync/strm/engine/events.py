"""An events run: act only on the paths that changed, each checked against the source.

An event is a hint of where to look, not a fact: a created file is written only if its
folder lists it now, and managed files are deleted only when their folder, listed now,
lacks them (after a second listing if the folder came back empty), never when a listing
failed, never past the max-delete share, and never while the job's root lists empty.
"""

import posixpath
from collections import deque
from dataclasses import dataclass, field

import _fastscan
from strmsync.strm.drivers.base import Listing
from strmsync.strm.engine.cleanup import apply_cleanup, confirm_gone
from strmsync.strm.engine.plan import CleanupPlan, map_names


@dataclass
class Touched:
    """The paths an events run looks at: files, folders, and paths of unknown type."""

    files: set = field(default_factory=set)
    dirs: set = field(default_factory=set)
    unknown: set = field(default_factory=set)
    root: bool = False

    def add(self, path: str, is_dir) -> None:
        """Note a path an event mentioned."""
        if path == "":
            self.root = True
        elif is_dir is None:
            self.unknown.add(path)
        else:
            (self.dirs if is_dir else self.files).add(path)

    def all(self) -> set:
        """Every path touched, whatever its type."""
        return self.files | self.dirs | self.unknown


def touched_paths(events: list) -> Touched:
    """The paths named by a run's events (both ends of a rename)."""
    touched = Touched()
    for event in events:
        is_dir = None if event["is_dir"] is None else bool(event["is_dir"])
        touched.add(event["path"], is_dir)
        if event["action"] == "rename" and event["new_path"] is not None:
            touched.add(event["new_path"], is_dir)
    return touched


def _parent(path: str) -> str:
    return posixpath.dirname(path)


def _name(path: str) -> str:
    return posixpath.basename(path)


class EventsPass:
    """Carries out one events run on behalf of a `Run` (its pipeline, log and counters)."""

    def __init__(self, run, events: list):
        self.run, self.driver, self.options = run, run.driver, run.options
        self.touched = touched_paths(events)
        self.listings: dict = {}
        self.failed: set = set()

    def execute(self) -> None:
        """List, write what exists, delete what is confirmed gone."""
        log = self.run.log
        if self.touched.root:
            log.warning("an event named the job's root folder; run a full sync to act on it")
        paths = self.touched.all()
        log.info("events run: %d path(s) to check", len(paths))
        if not paths:
            return
        self._list_parents(paths)
        manifest = self.run.store.load_manifest(self.run.job.job_id, self._prefixes(paths))
        walked, seen = self._write_present(manifest)
        self._delete_absent(manifest, walked, seen)

    def _prefixes(self, paths: set) -> set:
        return {_parent(p) for p in self.touched.files} | self.touched.dirs | self.touched.unknown

    def _list(self, folder: str) -> Listing | None:
        if folder in self.listings:
            return self.listings[folder]
        try:
            listing = self.driver.list_dir(folder)
        except Exception as exc:  # noqa: BLE001 - any listing failure means: act on nothing here
            self.failed.add(folder)
            self.run.log.error("%s: cannot list: %s", folder or "/", exc)
            listing = None
        self.listings[folder] = listing
        return listing

    def _list_parents(self, paths: set) -> None:
        for folder in sorted({_parent(p) for p in paths}):
            self._list(folder)

    # writing -------------------------------------------------------------------------------

    def _write_present(self, manifest: dict) -> tuple[set, set]:
        """Queue every touched file that exists, and every file under touched folders."""
        walked, seen, batch = set(), set(), []
        for path in sorted(self.touched.files | self.touched.unknown):
            entry = self._file_entry(path)
            if entry is not None:
                batch += self._items(_parent(path), [entry], seen)
        for path in sorted(self.touched.dirs | self.touched.unknown):
            listing = self.listings.get(_parent(path))
            if listing is not None and _name(path) in listing.subdirs:
                batch += self._walk(path, walked, seen)
        self.run.process_items(batch, manifest)
        return walked, seen

    def _file_entry(self, path: str):
        listing = self.listings.get(_parent(path))
        if listing is None:
            return None
        return next((entry for entry in listing.files if entry[0] == _name(path)), None)

    def _items(self, folder: str, files: list, seen: set) -> list:
        items, rejected = map_names(folder, files, self.options, self.run.strm_text)
        for source_rel, why in rejected:
            self.run.fail(source_rel, why)
        seen.update(item.target_rel for item in items)
        return items

    def _walk(self, top: str, walked: set, seen: set) -> list:
        items, queue = [], deque([(top, 0)])
        while queue:
            folder, depth = queue.popleft()
            listing = self._list(folder)
            if listing is None:
                continue
            walked.add(folder)
            items += self._items(folder, listing.files, seen)
            if depth >= self.options.max_depth:
                continue
            queue.extend((f"{folder}/{sub}", depth + 1) for sub in listing.subdirs)
        return items

    # deleting ------------------------------------------------------------------------------

    def _delete_absent(self, manifest: dict, walked: set, seen: set) -> None:
        doomed = sorted(path for path in self._candidates(manifest, walked) if path not in seen)
        if not doomed:
            return
        problem = self._deletion_problem(doomed, manifest)
        if problem:
            self.run.log.warning("%s; deleted nothing", problem)
            self.run.problems.append(problem)
            return
        deleted, dropped, changes = apply_cleanup(CleanupPlan(delete=tuple(doomed)), manifest,
                                                  self.run.writer, self.run.dry_run,
                                                  self.run.log)
        self.run.record_deletions(deleted, dropped, changes)

    def _candidates(self, manifest: dict, walked: set) -> set:
        """Managed files whose source the listings show gone (never under a failed listing)."""
        doomed = set()
        for path in self.touched.files | self.touched.unknown:
            if _parent(path) in self.failed or self._file_entry(path) is not None:
                continue
            target = self._target_of(_parent(path), _name(path))
            if target in manifest and not self._still_produced(target):
                doomed.add(target)
        for path in self.touched.dirs | self.touched.unknown:
            if self._under_failure(path):
                continue
            listing = self.listings.get(_parent(path))
            exists = listing is not None and _name(path) in listing.subdirs
            if not exists or path in walked:
                doomed.update(p for p in manifest if p.startswith(path + "/"))
        return doomed

    def _target_of(self, folder: str, name: str) -> str | None:
        kind = _fastscan.classify(name, self.options.media_exts, self.options.meta_exts)
        if kind == _fastscan.KIND_NONE:
            return None
        target = _fastscan.target_name(name, kind)
        return f"{folder}/{target}" if folder else target

    def _still_produced(self, target: str) -> bool:
        """True when another file of the folder maps to the same target (`a.mkv`, `a.mp4`)."""
        folder = _parent(target)
        listing = self.listings.get(folder)
        return listing is not None and any(
            self._target_of(folder, entry[0]) == target for entry in listing.files)

    def _under_failure(self, path: str) -> bool:
        return any(f == path or f.startswith(path + "/") or path.startswith(f + "/") or
                   f == _parent(path) for f in self.failed)

    def _deletion_problem(self, doomed: list, manifest: dict) -> str | None:
        root = self._list("")
        if root is None or root.empty:
            return "the job's source root lists empty or missing (is the mount down?)"
        nonempty = {folder for folder, listing in self.listings.items()
                    if listing is not None and not listing.empty}
        problem = confirm_gone(set(doomed), nonempty, self.driver, self.run.log)
        if problem:
            return problem
        managed = self.run.store.manifest_count(self.run.job.job_id)
        if len(doomed) > self.options.max_delete * managed:
            return (f"events would delete {len(doomed)} of {managed} managed files, more than"
                    f" the max-delete share of {self.options.max_delete:.0%}")
        return None
