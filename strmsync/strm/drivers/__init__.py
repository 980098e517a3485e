"""Source drivers: `local` (a mounted path), `openlist` and `clouddrive2`."""

import os
import posixpath
from collections.abc import Callable
from typing import TYPE_CHECKING

from strmsync.config import SyncOptions
from strmsync.errors import ConfigError, FatalError, ListingError, RetryableError
from strmsync.strm.drivers.base import Driver, Listing, ScanReport
from strmsync.strm.drivers.local import LocalDriver

if TYPE_CHECKING:
    from strmsync.strm.drivers.sharedlimits import SharedLimits

# The remote drivers pull in grpc and requests; a local sync should not pay for them.
_LAZY = {"CloudDrive2Driver": "strmsync.strm.drivers.clouddrive2",
         "OpenListDriver": "strmsync.strm.drivers.openlist",
         "SourcePolicy": "strmsync.strm.drivers.gate"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)

__all__ = ["CloudDrive2Driver", "Driver", "Listing", "LocalDriver", "OpenListDriver",
           "ScanReport", "SourcePolicy", "open_driver", "test_source"]

SourceLookup = Callable[[object], "dict | None"]
# The shared pause and qps budget of a source record (sharedlimits.SharedLimitsLookup).
LimitsLookup = Callable[[dict], "SharedLimits | None"]


def open_driver(source: dict, source_root: str, options: SyncOptions,
                sources: SourceLookup | None = None,
                limits: LimitsLookup | None = None) -> Driver:
    """The driver for a source record, rooted at a job's source root (no I/O yet).

    `sources` finds another source record by name or id, for a local source's API
    fallback; by default it reads the store under the configured data directory.
    `limits` gives API sources limits shared with other processes; without it each
    driver paces its source on its own.
    """
    kind = source["kind"]
    if kind == "local":
        fallback = _fallback(source, source_root, sources, limits)
        return LocalDriver(source_root, options.mount_prefix, options.url_base, fallback,
                           download=options.meta_mode == "download",
                           workers=source.get("concurrency") or 8)
    if kind in ("openlist", "clouddrive2"):
        return open_remote(source, source_root, options.mount_prefix, options.url_base,
                           limits=limits)
    raise ConfigError(f"kind: {kind} sources are not supported")


def open_remote(source: dict, root: str, mount_prefix: str = "", url_base: str = "",
                limits: LimitsLookup | None = None, **policy) -> Driver:
    """An OpenList or CloudDrive2 driver for a source record; `policy` overrides tuning."""
    from strmsync.strm.drivers.gate import SourcePolicy

    if source.get("secrets_error"):
        raise FatalError(f"source {source['name']}: its secrets {source['secrets_error']}")
    config, secrets = source.get("config") or {}, source.get("secrets") or {}
    tuning = SourcePolicy.from_source(source, **policy)
    credentials = {"token": secrets.get("token") or "", "password": secrets.get("password") or "",
                   "username": config.get("username") or ""}
    # Only the driver in use is imported: an OpenList sync need not load grpc and protobuf.
    if source["kind"] == "openlist":
        from strmsync.strm.drivers.openlist import OpenListDriver

        driver = OpenListDriver(config["url"], root, tuning, mount_prefix=mount_prefix,
                                url_base=url_base,
                                folder_passwords=secrets.get("folder_passwords"),
                                **credentials)
    else:
        from strmsync.strm.drivers.clouddrive2 import CloudDrive2Driver

        driver = CloudDrive2Driver(config["address"], root, tuning,
                                   tls=_flag(config.get("tls")),
                                   download_base=config.get("download_base") or "",
                                   mount_prefix=mount_prefix, url_base=url_base,
                                   **credentials)
    if limits is not None:
        driver.share_limits(limits(source))
    return driver


def test_source(source: dict, sources: SourceLookup | None = None) -> dict:
    """Check a source's connection; FatalError with a clear message when it fails."""
    if source["kind"] == "local":
        facts = LocalDriver(source["config"]["root"]).test()
        name = source["config"].get("fallback_source")
        if name:
            fallback = _lookup(name, sources)
            _tested(fallback)
            facts["fallback"] = f"{fallback['name']}: ok"
        return facts
    if source["kind"] in ("openlist", "clouddrive2"):
        return _tested(source)
    raise ConfigError(f"kind: {source['kind']} sources are not supported")


def _tested(source: dict) -> dict:
    """A remote source's test facts; FatalError naming where it failed to connect."""
    driver = open_remote(source, "/", attempts=2)
    try:
        return driver.test()
    except (RetryableError, ListingError) as exc:
        config = source.get("config") or {}
        where = config.get("url") or config.get("address") or source["name"]
        raise FatalError(f"cannot connect to {where}: {exc}") from None
    finally:
        driver.close()


def _fallback(source: dict, source_root: str, sources: SourceLookup | None,
              limits: LimitsLookup | None) -> Driver | None:
    config = source["config"]
    if not config.get("fallback_source"):
        return None
    below = os.path.relpath(os.path.abspath(source_root), os.path.abspath(config["root"]))
    if below == ".." or below.startswith("../"):
        raise ConfigError("source_root: outside the local source's root; no fallback mapping")
    root = posixpath.join(config.get("fallback_root") or "/", "" if below == "." else below)
    return open_remote(_lookup(config["fallback_source"], sources), root, limits=limits)


def _lookup(key, sources: SourceLookup | None) -> dict:
    found = sources(key) if sources is not None else _stored_source(key)
    if found is None or found["kind"] not in ("openlist", "clouddrive2"):
        raise ConfigError(f"fallback_source: no openlist or clouddrive2 source called {key!r}")
    return found


def _stored_source(key) -> dict | None:
    from strmsync.config import load_settings
    from strmsync.store import Store

    store = Store(load_settings().database_path)
    try:
        return store.source(key)
    finally:
        store.close()


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")
