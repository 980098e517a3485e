"""A mirror job's options: direction, conflict policy and the safety limits (DESIGN.md §8)."""

from dataclasses import asdict, dataclass, fields

from strmsync.errors import ConfigError
from strmsync.mirror.detect import CONFLICT_POLICIES, MODES


@dataclass(frozen=True)
class MirrorOptions:
    """How a mirror job runs; `max_delete` is the share of the snapshot one run may delete."""

    mode: str = "mirror"
    conflict: str = "keep-both"
    max_delete: float = 0.5
    concurrency: int = 4
    trash_days: int = 30
    attempts: int = 3

    def __post_init__(self):
        if self.mode not in MODES:
            raise ConfigError(f"mode: must be one of {', '.join(MODES)}")
        if self.conflict not in CONFLICT_POLICIES:
            raise ConfigError(f"conflict: must be one of {', '.join(CONFLICT_POLICIES)}")
        if not 0 <= self.max_delete <= 1:
            raise ConfigError("max_delete: a share between 0 and 1 (0.5 = 50 %)")
        if not 1 <= self.concurrency <= 32:
            raise ConfigError("concurrency: between 1 and 32")
        if not 0 <= self.trash_days <= 3650:
            raise ConfigError("trash_days: between 0 and 3650")
        if not 1 <= self.attempts <= 10:
            raise ConfigError("attempts: between 1 and 10")

    @classmethod
    def from_dict(cls, data: dict) -> "MirrorOptions":
        """Options from a stored or sent dict; unknown keys are a ConfigError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{unknown[0]}: unknown option")
        return cls(**{k: v for k, v in data.items() if v is not None})

    def to_dict(self) -> dict:
        """The options as stored in the job record."""
        return asdict(self)


def parse_share(text) -> float:
    """A share of files: 0.5, "50%" or "50 %" all mean half."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        raw = str(text).strip()
        try:
            value = float(raw.rstrip("% ")) / 100 if raw.endswith("%") else float(raw)
        except ValueError:
            raise ConfigError(f"max_delete: not a share: {text!r} (e.g. 0.5 or 50%)") from None
    if not 0 <= value <= 1:
        raise ConfigError("max_delete: a share between 0 and 1 (0.5 = 50 %)")
    return value
