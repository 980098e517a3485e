"""The job kinds table: the one place the service learns what a kind of job does (DESIGN §7).

The queue, the scheduler and the run record know a kind only by its name; everything else
(its options, its counts, its target slots, its engine) is asked of the kind's module,
imported when first needed so a STRM run never loads the SMB client, nor the other way.
"""

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

KINDS = {"strm": "strmsync.strm.kind", "mirror": "strmsync.mirror.kind",
         "trakt": "strmsync.trakt.kind"}
DEFAULT_KIND = "strm"


@dataclass
class RunContext:
    """What a kind's engine gets for one run: the record, the queue, the run's controls."""

    store: Any  # strmsync.store.Store
    conn: Any  # redis.Redis
    run: dict
    job: dict
    beat: Any  # strmsync.service.runslots.Heartbeat: .cancel and .paused Events
    report: Any  # callable(progress snapshot dict) -> None


def kind_names() -> tuple[str, ...]:
    """Every kind a job may have."""
    return tuple(KINDS)


def kind_of(job: dict) -> ModuleType:
    """The module of a job's kind (`strmsync.strm.kind`, `strmsync.mirror.kind`, …)."""
    return kind_module(job.get("kind") or DEFAULT_KIND)


def kind_module(name: str) -> ModuleType:
    """The module of the kind called `name`; KeyError for an unknown kind."""
    return importlib.import_module(KINDS[name])


def test_source(source: dict, sources=None) -> dict:
    """Check a source's connection through the package that uses it (an SMB share is the
    mirror kind's; every other source the STRM kind's)."""
    module = kind_module("mirror" if source["kind"] == "smb" else "strm")
    return module.test_source(source, sources)
