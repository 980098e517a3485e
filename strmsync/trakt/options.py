"""A trakt job's options: what to bring over, how far back to look, which Trakt to ask."""

from dataclasses import asdict, dataclass, fields

from strmsync.errors import ConfigError

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
        if not (self.movies or self.episodes):
            raise ConfigError("movies: bring over movies, episodes or both")
        if not 0 <= self.overlap_days <= 365:
            raise ConfigError("overlap_days: between 0 and 365")
        if not 1 <= self.reconcile_days <= 365:
            raise ConfigError("reconcile_days: between 1 and 365")
        if not str(self.api_url).startswith(("http://", "https://")):
            raise ConfigError("api_url: must start with http:// or https://")
        if not 10 <= self.get_budget <= 5000:
            raise ConfigError("get_budget: between 10 and 5000 GETs per five minutes")
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
