"""Job roots compared as places, not as text: folded, resolved, kept apart.

A target written `//srv/media`, `/srv/./media` or reached through a symlink is the same
folder as `/srv/media`; the checks here fold and resolve both roots before comparing, when
a job is saved and again when its run starts (a symlink made later must not lead the run
into its own source).
"""

import os
from pathlib import Path

from strmsync.errors import ConfigError, FatalError


def fold_path(value: str, field: str) -> str:
    """`value` with `//`, `/./` and a trailing `/` folded; ConfigError for `..`, NUL, relative."""
    if not value.startswith("/"):
        raise ConfigError(f"{field}: an absolute path is required")
    if "\x00" in value:
        raise ConfigError(f"{field}: must not contain NUL")
    parts = [part for part in value.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ConfigError(f"{field}: must not contain '..'")
    return "/" + "/".join(parts)


def inside(path: str, root: str) -> bool:
    """True when `path` is `root` or lies below it (both folded)."""
    return root == "/" or path == root or path.startswith(root + "/")


def overlap(a: str, b: str) -> bool:
    """True when one folded path is, or lies inside, the other."""
    return inside(a, b) or inside(b, a)


def real(path: str) -> str:
    """The folder a path leads to, symlinks followed as far as they exist."""
    return os.path.realpath(path)


def check_target(target: str, data_dir: Path, source_root: str | None = None) -> None:
    """ConfigError when a (folded) target root is `/`, holds or lies in the data directory,
    or overlaps the local source root it is built from."""
    if target == "/":
        raise ConfigError("target_root: must not be / (the whole file system)")
    resolved = real(target)
    if resolved == "/":
        raise ConfigError(f"target_root: {target} leads to / (the whole file system)")
    data = real(str(data_dir))
    if overlap(resolved, data):
        raise ConfigError(f"target_root: must not overlap strmsync's data directory {data}")
    if source_root is not None and overlap(resolved, real(source_root)):
        how = "" if resolved == target else f" ({target} leads to {resolved})"
        raise ConfigError(f"target_root: must not overlap the source root {source_root}{how}")


def check_run_roots(target: str, local_source: str | None) -> None:
    """FatalError before a run touches anything: its roots overlap now, or the local source
    root is missing (a mount that is down must not look like an empty library)."""
    if real(target) == "/":
        raise FatalError(f"target_root: {target} leads to / (the whole file system)")
    if local_source is None:
        return
    if not os.path.isdir(local_source):
        raise FatalError(f"source: {local_source} does not exist or is not a directory"
                         " (is the mount down?); nothing was changed")
    resolved_target, resolved_source = real(target), real(local_source)
    if overlap(resolved_target, resolved_source):
        raise FatalError(f"target_root: {target} leads to {resolved_target}, which overlaps"
                         f" the source root {local_source} ({resolved_source}); nothing was"
                         " changed")
