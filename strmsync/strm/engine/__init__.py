"""The sync engine: scan, plan, apply, clean up, summarise."""

from strmsync.strm.engine.progress import Progress
from strmsync.strm.engine.run import JobSpec, Run, RunSummary

__all__ = ["JobSpec", "Progress", "Run", "RunSummary"]
