"""One typed settings object, read from ``MICRO_USER_*`` variables and an optional TOML file.

Every field here is documented in the README's configuration table; keep them in step.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "micro-user"


class MailSenderKind(StrEnum):
    console = "console"
    smtp = "smtp"


class SmtpSecurity(StrEnum):
    none = "none"
    starttls = "starttls"
    tls = "tls"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MICRO_USER_", extra="ignore")

    # Storage
    database_url: str = Field(
        default="",
        description="SQLAlchemy or plain URL; empty means SQLite in the data directory.",
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    migrate_on_start: bool = True
    database_pool_size: int = Field(default=10, ge=1, le=200)
    sqlite_synchronous: str = Field(
        default="full",
        pattern="^(full|normal)$",
        description="full: every commit is on disk before it is answered; normal: commits "
        "reach the disk at checkpoints (a power loss can undo the last ones, never corrupt)",
    )

    # HTTP server
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    public_url: str = "http://localhost:8080"
    link_hosts: str = Field(
        default="",
        description="Comma-separated hosts that mailed links and redirects may point at "
        "(default: the host of public_url).",
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    log_level: str = "info"
    log_format: str = Field(default="json", pattern="^(json|text)$")

    # Access
    admin_key: SecretStr | None = None
    default_namespace: str = "micro"
    key_cache_seconds: float = Field(default=5.0, ge=0)

    # Passwords
    password_min_length: int = Field(default=8, ge=1)
    password_max_length: int = Field(default=256, ge=8, le=4096)
    # New passwords among this many most common ones are refused (0: no such check).
    password_common_rank: int = Field(default=10_000, ge=0, le=30_000)
    argon2_memory_kib: int = Field(default=19456, ge=8)
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_parallelism: int = Field(default=1, ge=1)
    hash_threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)

    # Sessions and one-time tokens
    session_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    verification_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    magic_link_ttl_seconds: int = Field(default=15 * 60, ge=60)
    step_up_seconds: int = Field(
        default=300,
        ge=0,
        description="How long after signing in the hosted pages change the second factors "
        "without asking for the password again (0: always ask).",
    )
    reset_code_max_attempts: int = Field(default=5, ge=1)
    cleanup_interval_seconds: float = Field(default=300.0, gt=0)
    # The test suites' check that the error catalogue (micro_user/errors.py) is complete:
    # an error id or status it does not list is logged and answered 500.
    strict_errors: bool = False

    # Tokens and access rules
    jwt_algorithm: str = Field(default="EdDSA", pattern="^(EdDSA|ES256|RS256)$")
    access_token_ttl_seconds: int = Field(default=15 * 60, ge=30, le=24 * 3600)
    # Longer than the JWKS cache lifetime (JWKS_MAX_AGE_SECONDS, 60 s), so that caches
    # and verifiers hold a rotated-in key before the first token it signs.
    key_publish_seconds: int = Field(default=90, ge=0, le=24 * 3600)
    # Private signing keys are stored encrypted with this key (AES-256-GCM), held outside the
    # database: base64 of 32 random bytes; to rotate, the new key first, then the old ones.
    key_encryption_key: SecretStr | None = None
    key_encryption_key_file: Path | None = Field(
        default=None,
        description="File holding the key-encryption key(s), in the same form as the setting.",
    )
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    auth_refresh_seconds: float = Field(default=1.0, gt=0, le=60)
    self_service: bool = True
    session_cookie: str = "micro_session"
    # Which gateway asks /auth/forward: only its headers name the request that is judged.
    gateway_kind: str = Field(default="nginx", pattern="^(nginx|traefik|envoy)$")
    # Whose rules judge anonymous requests at the gateway (empty: default_namespace).
    gateway_namespace: str = ""
    gateway_routes: str = Field(
        default="",
        description="JSON list of {prefix, type, name[, endpoint, namespace]} mapping gateway"
        " paths to resources.",
    )

    # Abuse protection
    abuse_protection: bool = True
    trusted_proxy_header: str = Field(
        default="",
        description="Header whose last entry is the client address, e.g. X-Forwarded-For.",
    )
    redis_url: str = ""
    login_per_address_per_minute: int = Field(default=30, ge=1)
    login_per_account_per_minute: int = Field(
        default=60,
        ge=1,
        description="Failed secret checks of one account a minute, from all addresses, beyond "
        "which it is under attack: each address is then locked after every failure.",
    )
    lockout_threshold: int = Field(default=5, ge=1)
    lockout_max_seconds: int = Field(default=900, ge=1)
    mail_per_address_per_minute: int = Field(default=10, ge=1)
    mail_per_recipient_per_hour: int = Field(default=5, ge=1)
    code_checks_per_address_per_minute: int = Field(default=20, ge=1)
    signups_per_address_per_hour: int = Field(
        default=10,
        ge=1,
        description="Accounts one address may make on the hosted sign-up page in an hour.",
    )
    bearer_failures_per_address_per_minute: int = Field(
        default=30,
        ge=1,
        description="Invalid API keys, session ids and tokens from one address a minute.",
    )

    # Lifecycle events
    event_retention_days: int = Field(
        default=90,
        ge=0,
        description="Delivered events (the audit log) older than this are deleted; 0 keeps all.",
    )
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_backoff_seconds: float = Field(default=2.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    delivery_interval_seconds: float = Field(default=0.5, gt=0)
    nats_url: str = ""
    nats_stream: str = "MICRO_USER"

    # Mail
    mail_sender: MailSenderKind = MailSenderKind.console
    mail_from: str = "micro-user <no-reply@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: SmtpSecurity = SmtpSecurity.starttls
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    smtp_ca_file: Path | None = Field(
        default=None,
        description="CA bundle that signs the SMTP server's certificate (system CAs otherwise).",
    )
    # Queued mail is retried after this many seconds, doubling each time (up to 5 minutes),
    # until it is sent or the token it carries expires.
    mail_backoff_seconds: float = Field(default=2.0, gt=0)

    @field_validator("admin_key")
    @classmethod
    def _admin_key(cls, value: SecretStr | None) -> SecretStr | None:
        from micro_user.crypto import check_secret_strength

        if value is not None:
            check_secret_strength(value.get_secret_value(), "the admin key")
        return value

    @field_validator("key_encryption_key")
    @classmethod
    def _key_encryption_key(cls, value: SecretStr | None) -> SecretStr | None:
        from micro_user.auth.key_encryption import parse_keys

        if value is not None:
            parse_keys(value.get_secret_value())
        return value

    @field_validator("default_namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        from micro_user.accounts.validation import check_namespace

        return check_namespace(value)

    @field_validator("gateway_namespace")
    @classmethod
    def _gateway_namespace(cls, value: str) -> str:
        from micro_user.accounts.validation import check_namespace

        return check_namespace(value) if value else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("MICRO_USER_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'micro-user.db'}"

    @property
    def allowed_link_hosts(self) -> frozenset[str]:
        """The hosts of ``link_hosts``, lower-cased; the public URL's host when it is empty."""
        hosts = {h.strip().lower().rstrip(".") for h in self.link_hosts.split(",") if h.strip()}
        return frozenset(hosts or {(urlsplit(self.public_url).hostname or "").lower()})
