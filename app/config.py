"""Configuration, read once from the environment.

Configuration flows one way: environment -> ``Config`` -> extensions. Nothing else
reads ``os.environ`` after start-up. ``Config.from_env`` is the only place that
knows the variable names; every name is documented in ``.env.example``.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit, urlunsplit

ROOT_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = ROOT_DIR / "var"
# Written by the development launcher (`make run`) with the URLs of the embedded
# Redis and mail server, so `flask` commands run beside it find them.
SERVICES_ENV_FILE = VAR_DIR / "run" / "services.env"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"expected a boolean (true/false), got {value!r}")


def _int(name: str, value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None


def _float(name: str, value: str | None, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {value!r}") from None


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a KEY=VALUE file (the launcher's services file); missing file -> {}."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the URL has."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def derive_cache_url(queue_url: str) -> str:
    """Cache on the queue server, next db number: clearing it never touches queued work."""
    parts = urlsplit(queue_url)
    path = parts.path.lstrip("/")
    db = int(path) if path.isdigit() else 0
    return urlunsplit(parts._replace(path=f"/{db + 1}"))


def _development_secret_key() -> str:
    """A development key kept under var/ so sessions survive restarts."""
    path = VAR_DIR / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


class Config:
    """Settings with typed defaults. Build it with ``Config.from_env(os.environ)``."""

    def __init__(self, **settings: object) -> None:
        for key, value in settings.items():
            setattr(self, key, value)

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in vars(self).items() if k.isupper()}

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Config":
        env = dict(environ)
        app_env = env.get("APP_ENV", "production").strip().lower()
        if app_env not in {"production", "development", "testing"}:
            raise ConfigError(f"APP_ENV must be production, development or testing, got {app_env!r}")
        development = app_env == "development"
        if development:
            # Fill what the developer did not set from the running `make run` stack.
            for key, value in read_env_file(SERVICES_ENV_FILE).items():
                env.setdefault(key, value)

        secret_key = env.get("SECRET_KEY", "")
        if not secret_key:
            if app_env == "production":
                raise ConfigError("SECRET_KEY is not set: production refuses to start without it")
            secret_key = _development_secret_key() if development else secrets.token_hex(32)

        redis_url = env.get("REDIS_URL", "")
        if app_env == "production" and not redis_url:
            raise ConfigError("REDIS_URL is not set: production needs its queue Redis")
        cache_url = env.get("CACHE_REDIS_URL", "") or (derive_cache_url(redis_url) if redis_url else "")
        database_url = env.get("DATABASE_URL", "") or f"sqlite:///{VAR_DIR / 'app.db'}"
        mail_use_ssl = _bool(env.get("MAIL_USE_SSL"))

        return cls(
            APP_ENV=app_env,
            DEBUG=development,
            TESTING=app_env == "testing",
            SECRET_KEY=secret_key,
            SQLALCHEMY_DATABASE_URI=normalise_database_url(database_url),
            SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
            REDIS_URL=redis_url,
            CACHE_REDIS_URL=cache_url,
            REDIS_TLS_CA_FILE=env.get("REDIS_TLS_CA_FILE", ""),
            REDIS_RETRIES=_int("REDIS_RETRIES", env.get("REDIS_RETRIES"), 6),
            REDIS_RETRY_MAX_BACKOFF=_float("REDIS_RETRY_MAX_BACKOFF", env.get("REDIS_RETRY_MAX_BACKOFF"), 2.0),
            CACHE_KEY_PREFIX=env.get("CACHE_KEY_PREFIX", "filmclub:"),
            CACHE_TTL=_int("CACHE_TTL", env.get("CACHE_TTL"), 300),
            CACHE_REDIS_TIMEOUT=_float("CACHE_REDIS_TIMEOUT", env.get("CACHE_REDIS_TIMEOUT"), 0.25),
            CACHE_LOCK_TIMEOUT=_float("CACHE_LOCK_TIMEOUT", env.get("CACHE_LOCK_TIMEOUT"), 5.0),
            MAIL_SERVER=env.get("MAIL_SERVER", ""),
            MAIL_PORT=_int("MAIL_PORT", env.get("MAIL_PORT"), 465 if mail_use_ssl else 25),
            MAIL_USE_TLS=_bool(env.get("MAIL_USE_TLS")),
            MAIL_USE_SSL=mail_use_ssl,
            MAIL_USERNAME=env.get("MAIL_USERNAME", ""),
            MAIL_PASSWORD=env.get("MAIL_PASSWORD", ""),
            MAIL_DEFAULT_SENDER=env.get("MAIL_DEFAULT_SENDER", "Film Club <noreply@filmclub.example>"),
            MAIL_TIMEOUT=_float("MAIL_TIMEOUT", env.get("MAIL_TIMEOUT"), 10.0),
            DEV_MAIL_DIR=env.get("DEV_MAIL_DIR", str(VAR_DIR / "mail")) if development else env.get("DEV_MAIL_DIR", ""),
            PORT=_int("PORT", env.get("PORT"), 5000),
            WORKERS=_int("WORKERS", env.get("WORKERS"), os.cpu_count() or 1),
            APP_TIMEZONE=env.get("APP_TIMEZONE", "Asia/Seoul"),
            POSTS_PER_PAGE=_int("POSTS_PER_PAGE", env.get("POSTS_PER_PAGE"), 20),
            POSTS_MAX_PER_PAGE=_int("POSTS_MAX_PER_PAGE", env.get("POSTS_MAX_PER_PAGE"), 1000),
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            SESSION_COOKIE_SECURE=_bool(env.get("SESSION_COOKIE_SECURE"), default=app_env == "production"),
            REMEMBER_COOKIE_HTTPONLY=True,
            REMEMBER_COOKIE_SAMESITE="Lax",
            REMEMBER_COOKIE_SECURE=_bool(env.get("SESSION_COOKIE_SECURE"), default=app_env == "production"),
            WTF_CSRF_TIME_LIMIT=None,
        )
