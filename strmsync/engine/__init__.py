"""The sync engine: scan, plan, apply, clean up, summarise."""

from strmsync.engine.progress import Progress
from strmsync.engine.run import JobSpec, Run, RunSummary

__all__ = ["JobSpec", "Progress", "Run", "RunSummary"]
