"""A one-line progress bar for terminals, fed by the engine's progress snapshots."""

import sys
import time


class ProgressBar:
    """Redraws one line on stderr with counts, rate and ETA."""

    def __init__(self, stream=None, width: int = 28):
        self.stream = stream or sys.stderr
        self.width = width

    def __call__(self, snap: dict) -> None:
        """Draw a snapshot (the engine calls this every half second)."""
        done, total = snap["scanned"], snap["total"]
        if total:
            filled = int(self.width * min(done / total, 1))
            bar = "#" * filled + "." * (self.width - filled)
            head = f"[{bar}] {done:,}/{total:,}"
        else:
            head = f"{done:,} files"
        eta = f"  ETA {_clock(snap['eta_s'])}" if snap.get("eta_s") is not None else ""
        line = (f"\r{snap['phase']:<9} {head}  {snap['rate']:,.0f}/s{eta}"
                f"  +{snap['created']:,} ~{snap['updated']:,} -{snap['deleted']:,}"
                f" !{snap['failed']:,}")
        self.stream.write(line.ljust(100))
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        self.stream.write("\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(max(seconds, 0)))
