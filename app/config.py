"""Configuration, read once from the environment.

Configuration flows one way: environment -> ``Config`` -> extensions. Nothing else
reads ``os.environ`` after start-up. ``Config.from_env`` is the only place that
knows the variable names; every name is documented in ``.env.example``.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from app import defaults
from app.exceptions import ConfigError
from app.security.settings import check_external_url

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
            raise ValueError(f"must list durations like 1d, 1h, 30m or 10s ({part!r} is not one)")
        leads.append(int(part[:-1]) * _UNITS[part[-1]])
    return tuple(sorted(set(leads), reverse=True))


def parse_clock(value: str) -> str:
    """``"9:30"`` -> ``"09:30"``: a local time of day."""
    hours, _, minutes = value.partition(":")
    if not (hours.isascii() and minutes.isascii() and hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ValueError("must be a local time HH:MM")
    return f"{int(hours):02d}:{int(minutes):02d}"


def parse_seconds_list(value: str | list[int] | tuple[int, ...]) -> list[int]:
    """``"5, 30,120"`` -> [5, 30, 120]: retry intervals in seconds."""
    if isinstance(value, (list, tuple)):
        return list(value)
    try:
        numbers = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ValueError("must be comma-separated whole numbers") from None
    if not numbers or any(n < 0 for n in numbers):
        raise ValueError("must list at least one non-negative number of seconds")
    return numbers


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be a time zone name like Asia/Seoul") from None
    return value


LOCALES = ("ko", "en")  # the languages the catalogs under app/translations/ cover; the first is the default


def check_locale(value: str) -> str:
    locale = value.strip().lower().replace("_", "-")
    if locale not in LOCALES:
        raise ValueError(f"must be one of {', '.join(LOCALES)}")
    return locale


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


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of ``os.environ``.

    ``Config.from_env(environ)`` takes the environment as an argument (the app passes
    ``os.environ``, a test a dict), so reading is one pure step and tests never patch the process.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


# Field types that say what a variable may hold: the message of a bad value comes from them.
Count = Annotated[int, Field(ge=0)]
AtLeastOne = Annotated[int, Field(ge=1)]
Seconds = Annotated[float, Field(ge=0)]
Rate = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Leads = Annotated[tuple[int, ...], NoDecode, BeforeValidator(lambda v: parse_leads(v) if isinstance(v, str) else v)]
SecondsList = Annotated[list[int], NoDecode, BeforeValidator(parse_seconds_list)]
Clock = Annotated[str, AfterValidator(parse_clock)]


class Settings(BaseSettings):
    """Every environment variable the app reads, its type and its default: the one place for both.

    pydantic-settings reads and checks them (names are the variables' names, case-sensitive; an
    empty variable counts as unset). ``None`` marks a default that depends on another setting,
    filled in by ``Config.from_env``. ``.env.example`` documents each one (a test keeps it so).
    """

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore")

    APP_ENV: Annotated[Literal["production", "development", "testing"], BeforeValidator(_lower)] = "production"
    SECRET_KEY: str = ""
    DATABASE_URL: str = ""                      # empty: SQLite under var/app.db
    REDIS_URL: str = ""
    CACHE_REDIS_URL: str = ""                   # empty: the queue server, next db number
    CACHE_KEY_PREFIX: str = "filmclub:"
    REDIS_TLS_CA_FILE: str = ""
    REDIS_RETRIES: Count = defaults.REDIS_RETRIES
    REDIS_RETRY_MAX_BACKOFF: Seconds = defaults.REDIS_RETRY_MAX_BACKOFF
    CACHE_TTL: Count = defaults.CACHE_TTL
    CACHE_REDIS_TIMEOUT: Seconds = defaults.CACHE_REDIS_TIMEOUT
    CACHE_LOCK_TIMEOUT: Seconds = defaults.CACHE_LOCK_TIMEOUT
    CACHE_LOCAL_MAX_BYTES: Count = defaults.CACHE_LOCAL_MAX_BYTES
    MAIL_SERVER: str = ""
    MAIL_PORT: int | None = None                # 465 with MAIL_USE_SSL, else 25
    MAIL_USE_TLS: bool = False
    MAIL_USE_SSL: bool = False
    MAIL_USERNAME: str = ""
    MAIL_PASSWORD: str = ""
    MAIL_DEFAULT_SENDER: str = "Film Club <noreply@filmclub.example>"
    MAIL_TIMEOUT: Seconds = defaults.MAIL_TIMEOUT
    MAIL_BATCH_SIZE: AtLeastOne = defaults.MAIL_BATCH_SIZE
    MAIL_MAX_PER_SECOND: Rate | None = None     # no cap
    MAIL_RETRY_INTERVALS: SecondsList = list(defaults.MAIL_RETRY_INTERVALS)
    DELIVERY_STALE_CLAIM_SECONDS: AtLeastOne = defaults.DELIVERY_STALE_CLAIM_SECONDS
    DELIVERY_MARKS_SYNCHRONOUS: bool = False
    DELIVERY_SWEEP_GRACE_SECONDS: Count = defaults.DELIVERY_SWEEP_GRACE_SECONDS
    DELIVERY_SWEEP_LIMIT: AtLeastOne = defaults.DELIVERY_SWEEP_LIMIT
    DEV_MAIL_DIR: str | None = None             # development: var/mail
    PORT: int = 5000
    WORKERS: AtLeastOne = Field(default_factory=lambda: os.cpu_count() or 1)
    APP_TIMEZONE: Annotated[str, AfterValidator(check_timezone)] = "Asia/Seoul"
    # Language of pages, mail and SMS when nothing else decides (app/i18n.py): ko or en.
    APP_LOCALE: Annotated[str, AfterValidator(check_locale)] = "ko"
    REMINDER_LEADS: Leads = "1d,1h"  # type: ignore[assignment]  # parsed like the variable
    DAILY_NOTIFICATIONS_AT: Clock = "09:00"
    DELIVERY_SWEEP_SECONDS: AtLeastOne = defaults.DELIVERY_SWEEP_SECONDS
    DELIVERY_OVERDUE_SECONDS: AtLeastOne = defaults.DELIVERY_OVERDUE_SECONDS
    REMINDER_SWEEP_SECONDS: AtLeastOne = defaults.REMINDER_SWEEP_SECONDS
    SCHEDULER_RESYNC_SECONDS: AtLeastOne = defaults.SCHEDULER_RESYNC_SECONDS
    DELIVERY_RETENTION_DAYS: AtLeastOne = defaults.DELIVERY_RETENTION_DAYS
    POSTS_PER_PAGE: AtLeastOne = defaults.POSTS_PER_PAGE
    POSTS_MAX_PER_PAGE: AtLeastOne = defaults.POSTS_MAX_PER_PAGE
    MAX_CONTENT_LENGTH: AtLeastOne = defaults.MAX_CONTENT_LENGTH
    SESSION_COOKIE_SECURE: bool | None = None   # true in production
    # -- accounts: sign-up verification, rate limits, SMS, social sign-in (issue 4) --
    PHONE_DEFAULT_REGION: Annotated[str, AfterValidator(str.upper)] = "KR"
    VERIFICATION_CODE_TTL: AtLeastOne = defaults.VERIFICATION_CODE_TTL
    VERIFICATION_MAX_ATTEMPTS: AtLeastOne = defaults.VERIFICATION_MAX_ATTEMPTS
    VERIFICATION_RESEND_COOLDOWN: Count = defaults.VERIFICATION_RESEND_COOLDOWN
    # Rate-limit counters live on the queue Redis (noeviction, persisted): on the cache
    # Redis an LRU eviction or a cache flush would silently reset a brute-force limit.
    RATELIMIT_ENABLED: bool = True
    RATELIMIT_STORAGE_URI: str = ""             # the queue Redis, else memory://
    RATELIMIT_KEY_PREFIX: str = "filmclub-limits"
    RATELIMIT_LOGIN: str = "10 per minute;50 per hour"
    # per account alone: past it sign-ins on the account are slowed (LOGIN_SLOWDOWN_SECONDS), never refused
    RATELIMIT_LOGIN_ACCOUNT: str = "100 per hour;500 per day"
    RATELIMIT_SIGNUP: str = "10 per minute;30 per hour"
    RATELIMIT_VERIFY: str = "10 per minute;30 per hour"
    RATELIMIT_CODE_SEND: str = "1 per minute;5 per hour;10 per day"
    SMS_BACKEND: Literal["console", "twilio", "solapi"] | None = None  # console outside production
    SMS_SENDER: str = ""
    SMS_TIMEOUT: Seconds = defaults.SMS_TIMEOUT
    SMS_MAX_PER_SECOND: Rate | None = None
    DEV_SMS_DIR: str | None = None              # development: var/sms
    TWILIO_ACCOUNT_SID: str = ""
    TWILIO_AUTH_TOKEN: str = ""
    TWILIO_API_BASE: str = ""
    SOLAPI_API_KEY: str = ""
    SOLAPI_API_SECRET: str = ""
    SOLAPI_API_BASE: str = "https://api.solapi.com"
    # Social sign-in: a provider is on with both its id and secret. The endpoint overrides
    # (empty: the provider's real URL) let tests and a local fake provider run the OAuth flow.
    KAKAO_CLIENT_ID: str = ""
    KAKAO_CLIENT_SECRET: str = ""
    KAKAO_AUTHORIZE_URL: str = ""
    KAKAO_TOKEN_URL: str = ""
    KAKAO_USERINFO_URL: str = ""
    NAVER_CLIENT_ID: str = ""
    NAVER_CLIENT_SECRET: str = ""
    NAVER_AUTHORIZE_URL: str = ""
    NAVER_TOKEN_URL: str = ""
    NAVER_USERINFO_URL: str = ""
    GOOGLE_CLIENT_ID: str = ""
    GOOGLE_CLIENT_SECRET: str = ""
    GOOGLE_AUTHORIZE_URL: str = ""
    GOOGLE_TOKEN_URL: str = ""
    GOOGLE_USERINFO_URL: str = ""
    GOOGLE_JWKS_URL: str = ""
    # -- the request path's protections (app.security.settings) --
    TRUSTED_PROXIES: Annotated[int, Field(ge=0, le=5)] = 0
    EXTERNAL_URL: Annotated[str, AfterValidator(check_external_url)] = ""
    METRICS_TOKEN: str = ""
    # -- the development launcher (`make run`, deploy/local/stack.py) --
    EMBEDDED_REDIS_PORT: Annotated[int, Field(ge=0, le=65535)] = 0   # 0: a free port
    DEV_MAIL_PORT: Annotated[int, Field(ge=0, le=65535)] = 0         # 0: a free port
    STOP_TIMEOUT: Seconds = 30.0                                     # seconds workers get to finish on Ctrl-C
    # -- how web processes learn that their copies of cache entries are stale (app/cache/versioned.py) --
    CACHE_INVALIDATION: Annotated[Literal["auto", "tracking", "channel"], BeforeValidator(_lower)] = "auto"

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment comes in as an argument (``Settings.read``): no .env file, no secrets directory.
        return (init_settings,)

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> "Settings":
        """The settings in ``environ``; a bad value is a ``ConfigError`` that names its variable."""
        try:
            return cls(**_MappingEnvSource(cls, environ)())
        except ValidationError as exc:
            raise ConfigError(_explain(exc, environ)) from None


# What a pydantic error type means, said about an environment variable.
_PHRASES = {
    "int_parsing": "must be a whole number", "int_from_float": "must be a whole number",
    "float_parsing": "must be a number", "finite_number": "must be a finite number",
    "bool_parsing": "must be a boolean (true/false)",
    "greater_than_equal": "must be at least {ge:g}", "greater_than": "must be above {gt:g}",
    "less_than_equal": "must be at most {le:g}", "literal_error": "must be {expected}",
}


def _explain(exc: ValidationError, environ: Mapping[str, str]) -> str:
    """One line for the first bad variable: ``PORT must be a whole number, got 'eighty'``."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else "configuration"
    if error["type"] == "value_error":
        phrase = str(error.get("ctx", {}).get("error", error["msg"]))
    else:
        phrase = _PHRASES.get(error["type"], error["msg"]).format(**error.get("ctx", {}))
    more = exc.error_count() - 1
    return f"{name} {phrase}, got {environ.get(name, error['input'])!r}" + (f" (and {more} more)" if more else "")


SOCIAL_PROVIDERS = ("kakao", "naver", "google")


class Config:
    """The Flask configuration: the settings plus what follows from them. ``Config.from_env(os.environ)``."""

    def __init__(self, **settings: object) -> None:
        for key, value in settings.items():
            setattr(self, key, value)

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in vars(self).items() if k.isupper()}

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Config":
        env = dict(environ)
        if _lower(env.get("APP_ENV", "")) == "development":
            # Fill what the developer did not set from the running `make run` stack.
            for key, value in read_env_file(services_env_file(env)).items():
                env.setdefault(key, value)
        s = Settings.read(env)
        production, development = s.APP_ENV == "production", s.APP_ENV == "development"
        var = var_dir(env)
        secret_key = s.SECRET_KEY
        if not secret_key:
            if production:
                raise ConfigError("SECRET_KEY is not set: production refuses to start without it")
            secret_key = _development_secret_key(var) if development else secrets.token_hex(32)
        if production and not s.REDIS_URL:
            raise ConfigError("REDIS_URL is not set: production needs its queue Redis")
        secure_cookies = production if s.SESSION_COOKIE_SECURE is None else s.SESSION_COOKIE_SECURE
        settings = s.model_dump()
        settings.update(
            DEBUG=development,
            TESTING=s.APP_ENV == "testing",
            SECRET_KEY=secret_key,
            SQLALCHEMY_DATABASE_URI=normalise_database_url(s.DATABASE_URL or f"sqlite:///{var / 'app.db'}"),
            SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
            CACHE_REDIS_URL=s.CACHE_REDIS_URL or (derive_cache_url(s.REDIS_URL) if s.REDIS_URL else ""),
            MAIL_PORT=(465 if s.MAIL_USE_SSL else 25) if s.MAIL_PORT is None else s.MAIL_PORT,
            DEV_MAIL_DIR=s.DEV_MAIL_DIR or (str(var / "mail") if development else ""),
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            SESSION_COOKIE_SECURE=secure_cookies,
            REMEMBER_COOKIE_HTTPONLY=True,
            REMEMBER_COOKIE_SAMESITE="Lax",
            REMEMBER_COOKIE_SECURE=secure_cookies,
            WTF_CSRF_TIME_LIMIT=None,
            RATELIMIT_STORAGE_URI=s.RATELIMIT_STORAGE_URI or s.REDIS_URL or "memory://",
            SMS_BACKEND=s.SMS_BACKEND or ("" if production else "console"),
            DEV_SMS_DIR=s.DEV_SMS_DIR or (str(var / "sms") if development else ""),
            BABEL_DEFAULT_LOCALE=s.APP_LOCALE,
            BABEL_TRANSLATION_DIRECTORIES=str(ROOT_DIR / "app" / "translations"),
        )
        del settings["DATABASE_URL"]
        if s.EXTERNAL_URL:
            parts = urlsplit(s.EXTERNAL_URL)
            settings.update(SERVER_NAME=parts.netloc, PREFERRED_URL_SCHEME=parts.scheme)
        return cls(**settings)
