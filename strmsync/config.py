"""Configuration, loaded once: defaults, add-on options, environment, then flags."""

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from strmsync.errors import ConfigError

DEFAULT_MEDIA_EXTS = frozenset(
    "mkv mp4 avi mov wmv flv ts m2ts mts iso rmvb rm webm mpg mpeg m4v vob 3gp f4v"
    " mp3 flac m4a aac ogg opus wav ape dts".split()
)
DEFAULT_META_EXTS = frozenset(
    "nfo jpg jpeg png webp bmp gif tbn srt ass ssa vtt sub idx sup smi lrc".split()
)
STRATEGIES = ("full", "incremental")
STRM_MODES = ("url", "path", "mount")
META_MODES = ("none", "copy", "download")
META_UPDATES = ("skip", "update")
CLEANUP_MODES = ("managed", "off")
MAX_DEPTH = 25
ADDON_OPTIONS = Path("/data/options.json")
# load_settings' default: `$STRMSYNC_OPTIONS_FILE` if set (the add-on's start script, tests),
# else ADDON_OPTIONS; None reads no options file at all.
OPTIONS_FROM_ENV = object()


def parse_extensions(value, field_name: str) -> frozenset:
    """Extensions from `"mkv,mp4"`, `".MKV .mp4"` or a list, lower-cased, without dots."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    exts = frozenset(str(item).strip().lstrip(".").lower() for item in items)
    exts = frozenset(ext for ext in exts if ext)
    bad = sorted(ext for ext in exts if "/" in ext or "\x00" in ext)
    if bad:
        raise ConfigError(f"{field_name}: not a file extension: {bad[0]!r}")
    return exts


def parse_share(value, field_name: str = "max_delete") -> float:
    """A share from `0.1`, `10%` or `10` (percent when above 1), between 0 and 1."""
    text = str(value).strip()
    try:
        share = float(text.rstrip("%"))
    except ValueError:
        raise ConfigError(f"{field_name}: not a number or percentage: {text!r}") from None
    if text.endswith("%") or share > 1:
        share /= 100
    if not 0 <= share <= 1:
        raise ConfigError(f"{field_name}: must be between 0% and 100%, got {text!r}")
    return share


@dataclass(frozen=True)
class SyncOptions:
    """Everything that shapes one job's sync, validated up front."""

    strategy: str = "full"
    strm_mode: str = "path"
    mount_prefix: str = ""
    url_base: str = ""
    media_exts: frozenset = DEFAULT_MEDIA_EXTS
    meta_exts: frozenset = DEFAULT_META_EXTS
    meta_mode: str = "copy"
    meta_update: str = "skip"
    cleanup: str = "managed"
    max_delete: float = 0.10
    concurrency: int = 4
    max_depth: int = MAX_DEPTH
    settle_delay: float = 5.0

    def __post_init__(self):
        self._check_choice("strategy", STRATEGIES)
        self._check_choice("strm_mode", STRM_MODES)
        self._check_choice("meta_mode", META_MODES)
        self._check_choice("meta_update", META_UPDATES)
        self._check_choice("cleanup", CLEANUP_MODES)
        if self.strm_mode == "mount" and not self.mount_prefix:
            raise ConfigError("mount_prefix: required when strm_mode is 'mount'")
        if self.url_base and not self.url_base.startswith(("http://", "https://")):
            raise ConfigError(f"url_base: must start with http:// or https://: {self.url_base!r}")
        if not self.media_exts:
            raise ConfigError("media_exts: at least one media extension is needed")
        if self.media_exts & self.meta_exts:
            both = ", ".join(sorted(self.media_exts & self.meta_exts))
            raise ConfigError(f"meta_exts: listed as media extensions too: {both}")
        if not 0 <= self.max_delete <= 1:
            raise ConfigError("max_delete: must be between 0 and 1")
        if not 1 <= self.concurrency <= 64:
            raise ConfigError("concurrency: must be between 1 and 64")
        if not 1 <= self.max_depth <= MAX_DEPTH:
            raise ConfigError(f"max_depth: must be between 1 and {MAX_DEPTH}")
        if self.settle_delay < 0:
            raise ConfigError("settle_delay: must not be negative")

    def _check_choice(self, name: str, choices: tuple) -> None:
        value = getattr(self, name)
        if value not in choices:
            raise ConfigError(f"{name}: must be one of {', '.join(choices)}, got {value!r}")

    def to_dict(self) -> dict:
        """A JSON-ready dict (extension sets as sorted lists)."""
        out = asdict(self)
        out["media_exts"] = sorted(self.media_exts)
        out["meta_exts"] = sorted(self.meta_exts)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "SyncOptions":
        """Build from a (possibly partial) dict; unknown keys are a ConfigError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{unknown[0]}: unknown option")
        values = dict(data)
        for name in ("media_exts", "meta_exts"):
            if name in values:
                values[name] = parse_extensions(values[name], name)
        if "max_delete" in values:
            values["max_delete"] = parse_share(values["max_delete"])
        for name, kind in (("concurrency", int), ("max_depth", int), ("settle_delay", float)):
            if name in values:
                values[name] = _coerce(values[name], kind, name)
        return cls(**values)

    def with_changes(self, **changes) -> "SyncOptions":
        """A copy with some options changed (and validated again)."""
        return replace(self, **changes)


def _coerce(value, kind, name: str):
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected {kind.__name__}, got {value!r}") from None


@dataclass(frozen=True)
class Settings:
    """Process-wide settings: where the data lives, which Redis, how to log."""

    data_dir: Path = field(default_factory=lambda: default_data_dir())
    redis_url: str = ""
    log_level: str = "INFO"
    one_run_at_a_time: bool = False
    workers: int = 2
    host: str = "0.0.0.0"
    port: int = 8580
    webhook_token: str = field(default="", repr=False)
    panel_password: str = field(default="", repr=False)
    ingress_address: str = "172.30.32.2"

    @property
    def database_path(self) -> Path:
        """The SQLite file that is strmsync's record."""
        return self.data_dir / "strmsync.db"


def default_data_dir() -> Path:
    """The per-user data directory (XDG), so every invocation finds the same record."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                           "share")
    return Path(base) / "strmsync"


def load_settings(data_flag: str | None = None, env=None, addon_options=OPTIONS_FROM_ENV,
                  flags: dict | None = None) -> Settings:
    """Defaults, then `/data/options.json`, then `STRMSYNC_*` variables, then flags."""
    env = os.environ if env is None else env
    if addon_options is OPTIONS_FROM_ENV:
        addon_options = env.get("STRMSYNC_OPTIONS_FILE") or ADDON_OPTIONS
    values: dict = {}
    if addon_options and Path(addon_options).is_file():
        options = json.loads(Path(addon_options).read_text())
        values["data_dir"] = Path(addon_options).parent
        if options.get("redis_url"):
            values["redis_url"] = options["redis_url"]
        if options.get("log_level"):
            values["log_level"] = str(options["log_level"]).upper()
        for name in ("one_run_at_a_time", "workers", "panel_password", "webhook_token"):
            if name in options:
                values[name] = options[name]
    if env.get("STRMSYNC_DATA"):
        values["data_dir"] = Path(env["STRMSYNC_DATA"])
    if env.get("REDIS_URL"):
        values["redis_url"] = env["REDIS_URL"]
    if env.get("STRMSYNC_LOG_LEVEL"):
        values["log_level"] = env["STRMSYNC_LOG_LEVEL"].upper()
    if env.get("STRMSYNC_ONE_RUN_AT_A_TIME"):
        values["one_run_at_a_time"] = env["STRMSYNC_ONE_RUN_AT_A_TIME"].lower() in ("1", "true")
    if env.get("STRMSYNC_WORKERS"):
        values["workers"] = _coerce(env["STRMSYNC_WORKERS"], int, "workers")
    if env.get("STRMSYNC_WEBHOOK_TOKEN"):
        values["webhook_token"] = env["STRMSYNC_WEBHOOK_TOKEN"]
    if env.get("STRMSYNC_PORT"):
        values["port"] = _coerce(env["STRMSYNC_PORT"], int, "port")
    if env.get("STRMSYNC_PANEL_PASSWORD"):
        values["panel_password"] = env["STRMSYNC_PANEL_PASSWORD"]
    if "STRMSYNC_INGRESS_ADDRESS" in env:
        values["ingress_address"] = env["STRMSYNC_INGRESS_ADDRESS"]
    values.update({k: v for k, v in (flags or {}).items() if v is not None})
    if data_flag:
        values["data_dir"] = Path(data_flag)
    if "data_dir" in values:
        values["data_dir"] = Path(values["data_dir"]).expanduser().resolve()
    return Settings(**values)
