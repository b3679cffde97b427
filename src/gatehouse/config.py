"""Configuration, read from the environment (``GATEHOUSE_*``) by pydantic-settings.

Nothing here runs at import time: :func:`load_settings` is called by the app factory and the CLI, so tests
can build as many differently configured apps as they need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final
from urllib.parse import unquote

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")
KEY_FILE_NAME: Final = "secret.key"
SECRET_WORDS: Final = ("TOKEN", "PASSWORD", "SECRET")
"""Settings whose name holds one of these are never repeated in an error message."""


class Settings(BaseSettings):
    """Gatehouse settings. Every field can be set as ``GATEHOUSE_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="GATEHOUSE_", extra="ignore", use_attribute_docstrings=True)

    database_url: str = Field(default_factory=lambda: f"sqlite:///{DEFAULT_DATA_DIR / 'gatehouse.db'}")
    """SQLAlchemy URL. ``sqlite:///path`` (the embedded default) or ``postgresql://user@host/db``."""

    public_url: str = "http://127.0.0.1:8080"
    """External base URL: used in ``meta.location``, ``Location`` headers and the SCIM endpoint URL shown
    to admins. Never derived from the Host header."""

    docs_url: str = ""
    """Where the built guides (``make docs``) are served, ``https://…`` or ``http://…``: error pages then link to
    their Troubleshooting page. Empty: they name the page in text."""

    scim_max_results: int = Field(default=1000, ge=1, le=100_000)
    """``filter.maxResults`` of the ServiceProviderConfig: the largest page a list request may get."""

    scim_default_count: int = Field(default=100, ge=1)
    """Page size when a list request gives no ``count``."""

    scim_rate_per_second: float = Field(default=200.0, ge=0, le=1_000_000)
    """Requests per second each SCIM token may make (a token bucket per token and process); 0 turns the limit
    off. Over it: 429 with ``Retry-After`` (:mod:`gatehouse.scim.rate_limit`)."""

    scim_burst: int = Field(default=400, ge=1, le=1_000_000)
    """How many requests a SCIM token may make at once above its rate (the bucket's size)."""

    scim_guard_enabled: bool = True
    """The mass-deprovisioning guard: past a threshold of SCIM deactivations and deletions within a window,
    further ones are held (429 with ``Retry-After``) until an administrator allows them
    (:mod:`gatehouse.iam.scim_guard`). Off: every deactivation and deletion applies at once."""

    scim_guard_window_minutes: int = Field(default=10, ge=1, le=1440)
    """The window over which the guard counts SCIM deactivations and deletions."""

    scim_guard_percent: float = Field(default=10.0, gt=0, le=100)
    """The guard's threshold as a share of active SCIM users (percent); the threshold is this share or
    ``scim_guard_min_users``, whichever is larger."""

    scim_guard_min_users: int = Field(default=25, ge=1, le=10_000_000)
    """The guard's smallest threshold: this many deactivations and deletions within the window always apply."""

    scim_activity_keep_rows: int = Field(default=10_000, ge=1, le=1_000_000)
    """Provisioning activity: how many SCIM requests the log keeps at most (the newest), 1 to 1,000,000."""

    scim_activity_keep_days: int = Field(default=30, ge=1, le=3650)
    """Provisioning activity: SCIM requests older than this many days are deleted from the log, 1 to 3650."""

    scim_activity_reads_per_second: int = Field(default=20, ge=0, le=1_000_000)
    """Provisioning activity: successful reads of one token listed one by one each second (per server process);
    past it, that second's other successful reads are counted in one row. 0 lists every read."""

    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    """Largest request body accepted (a full PUT of a big group is the largest legitimate one)."""

    db_pool_size: int = Field(default=10, ge=1, le=1_000)
    """Connections kept per process (PostgreSQL)."""

    log_level: str = "info"
    """Log level of the server."""

    admin_password: str | None = None
    """Password of the bootstrap Super Admin ``admin`` created on first run. When unset, a random one is
    generated, printed once on standard output, and must be changed at first sign-in."""

    session_idle_minutes: int = Field(default=60, ge=1, le=525_600)
    """A dashboard session ends after this long without a request."""

    session_absolute_hours: int = Field(default=12, ge=1, le=8_760)
    """A dashboard session ends this long after sign-in, whatever the activity."""

    login_max_failures: int = Field(default=5, ge=1, le=1_000)
    """Failed sign-ins per account (and ten times that per client IP) before a temporary lock."""

    login_lockout_seconds: int = Field(default=300, ge=1, le=604_800)
    """How long a lock after repeated failed sign-ins lasts (the failure window too)."""

    audit_retention_days: int = Field(default=60, ge=1, le=3650)
    """Audit records older than this are purged (by a task that runs on its own, hourly)."""

    audit_purge_interval_seconds: int = Field(default=3600, ge=1, le=86_400)
    """How often the audit purge runs."""

    trusted_proxies: list[str] = Field(default_factory=list)
    """Reverse proxies (IPs or CIDRs) whose ``X-Forwarded-For`` is believed for the client IP.
    As an environment variable: a JSON list, e.g. ``["10.0.0.0/8"]``."""

    secret_key_file: Path | None = None
    """Key file for secrets stored encrypted (SSO client secrets), used when ``GATEHOUSE_SECRET_KEY`` is
    unset; created (0600) on first use. Default: ``secret.key`` beside the SQLite database, or in the data
    directory for PostgreSQL (:func:`default_key_path`)."""

    sso_http_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """Timeout of each call Gatehouse makes to an OpenID provider (discovery, keys, token, UserInfo)."""

    sso_metadata_ttl_seconds: int = Field(default=300, ge=0, le=86_400)
    """How long a process keeps an OpenID provider's discovery document and keys before fetching them
    again (keys are fetched again at once when an ID token names an unknown key)."""

    outbound_deny_private: bool = False
    """Refuse outbound calls that an administrator can aim (an OpenID provider's endpoints) to loopback,
    link-local (the cloud metadata address among them), private and reserved addresses, checked after DNS
    resolution. Off by default, since identity providers often sit on private networks."""

    grant_expiry_check_seconds: float = Field(default=30.0, gt=0, le=3600)
    """How often each process records, at the latest, the end of time-bound grants and of access requests left
    unanswered (they stop counting at once regardless: every permission check leaves them out)."""

    audit_stream_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    """How often each process looks for audit records waiting for a streaming sink."""

    audit_stream_max_backoff_seconds: float = Field(default=300.0, gt=0, le=3600)
    """The longest wait between two attempts to deliver to a sink that fails (the wait doubles from 1 s)."""

    audit_file_dir: Path | None = None
    """Where JSON-lines file sinks write (a sink names a file in it, never a path). Default: ``audit/`` beside the
    SQLite database, or in the data directory for PostgreSQL."""

    access_log: bool = True
    """One JSON line per request on standard error, written by a thread off the event loop
    (:mod:`gatehouse.access_log`); ``gatehouse serve --no-access-log`` turns it off."""

    metrics_enabled: bool = True
    """``/metrics``: Prometheus metrics in the text format (:mod:`gatehouse.metrics`). Off: no such endpoint."""

    metrics_token: str | None = Field(default=None, min_length=16, max_length=512)
    """A bearer token Prometheus sends to scrape ``/metrics`` from any address (at least 16 characters; compared
    in constant time). Unset: ``/metrics`` answers loopback clients only."""

    @property
    def audit_file_path(self) -> Path:
        """The directory of file sinks (see :attr:`audit_file_dir`)."""
        if self.audit_file_dir is not None:
            return self.audit_file_dir
        return default_key_path(self.database_url).parent / "audit"

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("docs_url")
    @classmethod
    def _docs_url(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL, or empty")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        # Accept the plain libpq form and route it to psycopg 3.
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @property
    def scim_base_url(self) -> str:
        """The SCIM endpoint URL that an admin pastes into the IdP."""
        return f"{self.public_url}/scim/v2"

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` when the public URL is https."""
        return self.public_url.startswith("https://")

    @property
    def secret_key_path(self) -> Path:
        """Where the secrets key file is (see :attr:`secret_key_file`)."""
        return self.secret_key_file or default_key_path(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        """Whether the embedded SQLite backend is in use."""
        return self.database_url.startswith("sqlite")


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite database URL (``sqlite:///relative.db``, ``sqlite:////absolute.db``), read as
    SQLAlchemy reads it; ``None`` for another database, an in-memory one or a ``file:`` URI."""
    scheme, separator, rest = database_url.partition("://")
    if not separator or scheme.partition("+")[0] != "sqlite":
        return None
    _host, slash, database = rest.partition("?")[0].partition("/")
    database = unquote(database)
    if not slash or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def default_key_path(database_url: str, data_dir: Path = DEFAULT_DATA_DIR) -> Path:
    """Where the key file lives when ``GATEHOUSE_SECRET_KEY`` is unset: beside a SQLite database file, else
    in ``data_dir``."""
    database = sqlite_file(database_url)
    return (database.parent if database is not None else data_dir) / KEY_FILE_NAME


def settings_problems(error: ValidationError) -> list[str]:
    """One line per setting refused, named as in the environment: ``GATEHOUSE_SCIM_BURST: Input should be greater
    than or equal to 1 (got '0')``."""
    lines = []
    for problem in error.errors(include_url=False):
        name = "_".join(str(part) for part in problem["loc"][:1]).upper()
        secret = any(word in name for word in SECRET_WORDS)  # never echo a secret into a log or a terminal
        shown = isinstance(problem.get("input"), str | int | float) and not secret
        given = f" (got {problem['input']!r})" if shown else ""
        lines.append(f"GATEHOUSE_{name}: {problem['msg']}{given}")
    return lines


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment, with explicit overrides (CLI options, tests) on top."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**clean)  # type: ignore[arg-type]
