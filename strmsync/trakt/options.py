"""A trakt job's options: what to bring over, how far back to look, which Trakt to ask."""

from dataclasses import asdict, dataclass, fields

from strmsync.errors import ConfigError
from strmsync.validation import InvalidBody

DEFAULT_API = "https://api.trakt.tv"


@dataclass(frozen=True)
class TraktOptions:
    """How a trakt job runs; `get_budget` GETs per five minutes, shared by its runs."""

    movies: bool = True
    episodes: bool = True
    overlap_days: int = 1
    reconcile_days: int = 7
    api_url: str = DEFAULT_API
    get_budget: int = 450

    def __post_init__(self):
        problems = {}
        if not (self.movies or self.episodes):
            problems["movies"] = "bring over movies, episodes or both"
        if not 0 <= self.overlap_days <= 365:
            problems["overlap_days"] = "between 0 and 365"
        if not 1 <= self.reconcile_days <= 365:
            problems["reconcile_days"] = "between 1 and 365"
        if not str(self.api_url).startswith(("http://", "https://")):
            problems["api_url"] = "must start with http:// or https://"
        if not 10 <= self.get_budget <= 5000:
            problems["get_budget"] = "between 10 and 5000 GETs per five minutes"
        if problems:  # every one at once, as the forms show them
            raise InvalidBody(problems)
        object.__setattr__(self, "api_url", str(self.api_url).rstrip("/"))

    @classmethod
    def from_dict(cls, data: dict) -> "TraktOptions":
        """Options from a stored or sent dict; unknown keys are a ConfigError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{unknown[0]}: unknown option")
        return cls(**{k: v for k, v in data.items() if v is not None})

    def to_dict(self) -> dict:
        """The options as stored in the job record."""
        return asdict(self)
