"""Configuration, read once from the environment.

Configuration flows one way: environment -> ``Config`` -> extensions. Nothing else
reads ``os.environ`` after start-up. ``Config.from_env`` is the only place that
knows the variable names; every name is documented in ``.env.example``.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

from app import defaults
from app.exceptions import ConfigError
from app.security.settings import security_settings

ROOT_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = ROOT_DIR / "var"  # the default; FILMCLUB_VAR_DIR moves it (see var_dir)
# Written by the development launcher (`make run`) with the URLs of the embedded
# Redis and mail server, so `flask` commands run beside it find them.
SERVICES_ENV_FILE = VAR_DIR / "run" / "services.env"


def var_dir(environ: Mapping[str, str]) -> Path:
    """Where local state lives (SQLite, embedded Redis, caught mail, the launcher's files).

    ``FILMCLUB_VAR_DIR`` moves it, so a test or a second checkout can run the
    whole stack without touching the repository's ``var/``.
    """
    return Path(environ.get("FILMCLUB_VAR_DIR") or VAR_DIR)


def services_env_file(environ: Mapping[str, str]) -> Path:
    return var_dir(environ) / "run" / "services.env"




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


def _int_list(name: str, value: str | None, default: list[int]) -> list[int]:
    if value is None or value.strip() == "":
        return list(default)
    try:
        numbers = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated whole numbers, got {value!r}") from None
    if not numbers or any(n < 0 for n in numbers):
        raise ConfigError(f"{name} must list at least one non-negative number of seconds, got {value!r}")
    return numbers


CACHE_INVALIDATIONS = ("auto", "tracking", "channel")  # the first is the default


def _choice(name: str, value: str | None, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (case-insensitive); unset or empty is the first."""
    chosen = (value or "").strip().lower() or choices[0]
    if chosen not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return chosen


def _rate(name: str, value: str | None) -> float | None:
    """A sending rate in messages per second: unset or empty means no cap; otherwise above 0."""
    if value is None or value.strip() == "":
        return None
    rate = _float(name, value.strip(), 0.0)
    if not rate > 0 or rate == float("inf"):
        raise ConfigError(f"{name} must be a number of messages per second above 0, got {value!r}")
    return rate


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
    db = int(path) if path.isascii() and path.isdigit() else 0
    return urlunsplit(parts._replace(path=f"/{db + 1}"))


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_leads(value: str) -> tuple[int, ...]:
    """``"1d,1h"`` -> (86400, 3600): reminder lead times, longest first."""
    leads = []
    for part in value.split(","):
        part = part.strip().lower()
        if len(part) < 2 or part[-1] not in _UNITS or not (part[:-1].isascii() and part[:-1].isdigit()) or int(part[:-1]) == 0:
            raise ConfigError(f"REMINDER_LEADS: {part!r} is not a duration like 1d, 1h, 30m or 10s")
        leads.append(int(part[:-1]) * _UNITS[part[-1]])
    return tuple(sorted(set(leads), reverse=True))


def parse_clock(name: str, value: str) -> str:
    hours, _, minutes = value.partition(":")
    if not (hours.isascii() and minutes.isascii() and hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ConfigError(f"{name} must be a local time HH:MM, got {value!r}")
    return f"{int(hours):02d}:{int(minutes):02d}"


def _from(env: Mapping[str, str], name: str, parse: Callable[[str, str | None, Any], Any] | None = None) -> Any:
    """``name`` read from ``env`` by ``parse`` (``_int`` unless given), with its default from ``app.defaults``."""
    default = getattr(defaults, name)
    return (parse or _int)(name, env.get(name), list(default) if isinstance(default, tuple) else default)


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"APP_TIMEZONE: unknown time zone {value!r}") from None
    return value


def _development_secret_key(var: Path) -> str:
    """A development key kept under var/ so sessions survive restarts."""
    path = var / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    var.mkdir(parents=True, exist_ok=True)
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
        var = var_dir(env)
        if development:
            # Fill what the developer did not set from the running `make run` stack.
            for key, value in read_env_file(services_env_file(env)).items():
                env.setdefault(key, value)

        secret_key = env.get("SECRET_KEY", "")
        if not secret_key:
            if app_env == "production":
                raise ConfigError("SECRET_KEY is not set: production refuses to start without it")
            secret_key = _development_secret_key(var) if development else secrets.token_hex(32)

        redis_url = env.get("REDIS_URL", "")
        if app_env == "production" and not redis_url:
            raise ConfigError("REDIS_URL is not set: production needs its queue Redis")
        cache_url = env.get("CACHE_REDIS_URL", "") or (derive_cache_url(redis_url) if redis_url else "")
        database_url = env.get("DATABASE_URL", "") or f"sqlite:///{var / 'app.db'}"
        mail_use_ssl = _bool(env.get("MAIL_USE_SSL"))
        for name in ("MAIL_BATCH_SIZE", "DELIVERY_STALE_CLAIM_SECONDS"):
            if _int(name, env.get(name), 1) < 1:
                raise ConfigError(f"{name} must be at least 1, got {env.get(name)!r}")

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
            REDIS_RETRIES=_from(env, "REDIS_RETRIES"),
            REDIS_RETRY_MAX_BACKOFF=_from(env, "REDIS_RETRY_MAX_BACKOFF", _float),
            CACHE_KEY_PREFIX=env.get("CACHE_KEY_PREFIX", "filmclub:"),
            CACHE_TTL=_from(env, "CACHE_TTL"),
            CACHE_REDIS_TIMEOUT=_from(env, "CACHE_REDIS_TIMEOUT", _float),
            CACHE_LOCK_TIMEOUT=_from(env, "CACHE_LOCK_TIMEOUT", _float),
            CACHE_LOCAL_MAX_BYTES=_from(env, "CACHE_LOCAL_MAX_BYTES"),
            MAIL_SERVER=env.get("MAIL_SERVER", ""),
            MAIL_PORT=_int("MAIL_PORT", env.get("MAIL_PORT"), 465 if mail_use_ssl else 25),
            MAIL_USE_TLS=_bool(env.get("MAIL_USE_TLS")),
            MAIL_USE_SSL=mail_use_ssl,
            MAIL_USERNAME=env.get("MAIL_USERNAME", ""),
            MAIL_PASSWORD=env.get("MAIL_PASSWORD", ""),
            MAIL_DEFAULT_SENDER=env.get("MAIL_DEFAULT_SENDER", "Film Club <noreply@filmclub.example>"),
            MAIL_TIMEOUT=_from(env, "MAIL_TIMEOUT", _float),
            MAIL_BATCH_SIZE=_from(env, "MAIL_BATCH_SIZE"),
            # One rate for every worker on every host, kept in the queue Redis (jobs/send_rate.py).
            MAIL_MAX_PER_SECOND=_rate("MAIL_MAX_PER_SECOND", env.get("MAIL_MAX_PER_SECOND")),
            MAIL_RETRY_INTERVALS=_from(env, "MAIL_RETRY_INTERVALS", _int_list),
            DELIVERY_STALE_CLAIM_SECONDS=_from(env, "DELIVERY_STALE_CLAIM_SECONDS"),
            DELIVERY_MARKS_SYNCHRONOUS=_bool(env.get("DELIVERY_MARKS_SYNCHRONOUS")),
            DELIVERY_SWEEP_GRACE_SECONDS=_from(env, "DELIVERY_SWEEP_GRACE_SECONDS"),
            DELIVERY_SWEEP_LIMIT=_from(env, "DELIVERY_SWEEP_LIMIT"),
            DEV_MAIL_DIR=env.get("DEV_MAIL_DIR", str(var / "mail")) if development else env.get("DEV_MAIL_DIR", ""),
            PORT=_int("PORT", env.get("PORT"), 5000),
            WORKERS=_int("WORKERS", env.get("WORKERS"), os.cpu_count() or 1),
            APP_TIMEZONE=_timezone(env.get("APP_TIMEZONE", "Asia/Seoul")),
            REMINDER_LEADS=parse_leads(env.get("REMINDER_LEADS", "1d,1h")),
            DAILY_NOTIFICATIONS_AT=parse_clock("DAILY_NOTIFICATIONS_AT", env.get("DAILY_NOTIFICATIONS_AT", "09:00")),
            DELIVERY_SWEEP_SECONDS=_from(env, "DELIVERY_SWEEP_SECONDS"),
            # /healthz says "degraded" when a delivery is due and unsent for longer than this.
            DELIVERY_OVERDUE_SECONDS=_from(env, "DELIVERY_OVERDUE_SECONDS"),
            REMINDER_SWEEP_SECONDS=_from(env, "REMINDER_SWEEP_SECONDS"),
            SCHEDULER_RESYNC_SECONDS=_from(env, "SCHEDULER_RESYNC_SECONDS"),
            DELIVERY_RETENTION_DAYS=_from(env, "DELIVERY_RETENTION_DAYS"),
            POSTS_PER_PAGE=_from(env, "POSTS_PER_PAGE"),
            POSTS_MAX_PER_PAGE=_from(env, "POSTS_MAX_PER_PAGE"),
            # Largest request body (bytes): a 50,000-character announcement in Hangul, percent-encoded
            # by a form, is about 450 KB. Bigger requests get a 413 page (JSON under /api/).
            MAX_CONTENT_LENGTH=_from(env, "MAX_CONTENT_LENGTH"),
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            SESSION_COOKIE_SECURE=_bool(env.get("SESSION_COOKIE_SECURE"), default=app_env == "production"),
            REMEMBER_COOKIE_HTTPONLY=True,
            REMEMBER_COOKIE_SAMESITE="Lax",
            REMEMBER_COOKIE_SECURE=_bool(env.get("SESSION_COOKIE_SECURE"), default=app_env == "production"),
            WTF_CSRF_TIME_LIMIT=None,
            **accounts_settings(env, app_env, redis_url),
            **security_settings(env, app_env),
        )


SOCIAL_PROVIDERS = ("kakao", "naver", "google")
# Endpoint overrides per provider (<PROVIDER>_AUTHORIZE_URL etc.): empty means the provider's real URL.
# They exist so tests (and a local fake provider) can run the whole OAuth flow on 127.0.0.1.
SOCIAL_ENDPOINTS = ("AUTHORIZE_URL", "TOKEN_URL", "USERINFO_URL")


def accounts_settings(env: Mapping[str, str], app_env: str, redis_url: str) -> dict[str, object]:
    """Sign-up verification, rate limits, SMS and social login (issue 4)."""
    development = app_env == "development"
    sms_backend = env.get("SMS_BACKEND", "") or ("" if app_env == "production" else "console")
    if sms_backend not in {"", "console", "twilio", "solapi"}:
        raise ConfigError(f"SMS_BACKEND must be console, twilio or solapi, got {sms_backend!r}")
    settings: dict[str, object] = {
        "PHONE_DEFAULT_REGION": env.get("PHONE_DEFAULT_REGION", "KR").upper(),
        "VERIFICATION_CODE_TTL": _from(env, "VERIFICATION_CODE_TTL"),
        "VERIFICATION_MAX_ATTEMPTS": _from(env, "VERIFICATION_MAX_ATTEMPTS"),
        "VERIFICATION_RESEND_COOLDOWN": _from(env, "VERIFICATION_RESEND_COOLDOWN"),
        # Rate-limit counters live on the queue Redis (noeviction, persisted): on the cache
        # Redis an LRU eviction or a cache flush would silently reset a brute-force limit.
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), default=True),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "") or redis_url or "memory://",
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "filmclub-limits"),
        "RATELIMIT_LOGIN": env.get("RATELIMIT_LOGIN", "10 per minute;50 per hour"),
        # per account alone: past it sign-ins on the account are slowed (LOGIN_SLOWDOWN_SECONDS), never refused
        "RATELIMIT_LOGIN_ACCOUNT": env.get("RATELIMIT_LOGIN_ACCOUNT", "100 per hour;500 per day"),
        "RATELIMIT_SIGNUP": env.get("RATELIMIT_SIGNUP", "10 per minute;30 per hour"),
        "RATELIMIT_VERIFY": env.get("RATELIMIT_VERIFY", "10 per minute;30 per hour"),
        "RATELIMIT_CODE_SEND": env.get("RATELIMIT_CODE_SEND", "1 per minute;5 per hour;10 per day"),
        "SMS_BACKEND": sms_backend,
        "SMS_SENDER": env.get("SMS_SENDER", ""),
        "SMS_TIMEOUT": _from(env, "SMS_TIMEOUT", _float),
        "SMS_MAX_PER_SECOND": _rate("SMS_MAX_PER_SECOND", env.get("SMS_MAX_PER_SECOND")),
        "DEV_SMS_DIR": env.get("DEV_SMS_DIR", str(var_dir(env) / "sms")) if development else env.get("DEV_SMS_DIR", ""),
        "TWILIO_ACCOUNT_SID": env.get("TWILIO_ACCOUNT_SID", ""),
        "TWILIO_AUTH_TOKEN": env.get("TWILIO_AUTH_TOKEN", ""),
        "TWILIO_API_BASE": env.get("TWILIO_API_BASE", ""),
        "SOLAPI_API_KEY": env.get("SOLAPI_API_KEY", ""),
        "SOLAPI_API_SECRET": env.get("SOLAPI_API_SECRET", ""),
        "SOLAPI_API_BASE": env.get("SOLAPI_API_BASE", "") or "https://api.solapi.com",
        # How web processes learn that their copies of cache entries are stale (app/cache/versioned.py).
        "CACHE_INVALIDATION": _choice("CACHE_INVALIDATION", env.get("CACHE_INVALIDATION"), CACHE_INVALIDATIONS),
    }
    for provider in SOCIAL_PROVIDERS:
        prefix = provider.upper()
        settings[f"{prefix}_CLIENT_ID"] = env.get(f"{prefix}_CLIENT_ID", "")
        settings[f"{prefix}_CLIENT_SECRET"] = env.get(f"{prefix}_CLIENT_SECRET", "")
        for endpoint in SOCIAL_ENDPOINTS + (("JWKS_URL",) if provider == "google" else ()):
            settings[f"{prefix}_{endpoint}"] = env.get(f"{prefix}_{endpoint}", "")
    return settings
