"""Configuration comes from the environment, with refusals that say what is wrong."""
import pytest

from app.config import Config, ConfigError, derive_cache_url, normalise_database_url


def test_production_refuses_to_start_without_secret_key():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Config.from_env({"APP_ENV": "production", "REDIS_URL": "redis://r:6379/0"})


def test_production_needs_a_queue_redis():
    with pytest.raises(ConfigError, match="REDIS_URL"):
        Config.from_env({"APP_ENV": "production", "SECRET_KEY": "x"})


def test_cache_defaults_to_next_db_of_queue_server():
    config = Config.from_env({"APP_ENV": "production", "SECRET_KEY": "x", "REDIS_URL": "redis://r:6379/0"})
    assert config.CACHE_REDIS_URL == "redis://r:6379/1"
    assert derive_cache_url("rediss://:tok@host:6380/4") == "rediss://:tok@host:6380/5"


def test_postgres_urls_use_psycopg3():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


def test_bad_numbers_and_booleans_are_named():
    with pytest.raises(ConfigError, match="PORT"):
        Config.from_env({"APP_ENV": "testing", "PORT": "eighty"})
    with pytest.raises(ConfigError, match="boolean"):
        Config.from_env({"APP_ENV": "testing", "MAIL_USE_TLS": "maybe"})


def test_production_cookies_are_secure():
    config = Config.from_env({"APP_ENV": "production", "SECRET_KEY": "x", "REDIS_URL": "redis://r/0"})
    assert config.SESSION_COOKIE_SECURE and config.SESSION_COOKIE_HTTPONLY
    assert config.SESSION_COOKIE_SAMESITE == "Lax"


def test_mail_settings_are_read_and_checked():
    config = Config.from_env({"APP_ENV": "testing", "MAIL_BATCH_SIZE": "50", "MAIL_RETRY_INTERVALS": "1, 2,3",
                              "DELIVERY_STALE_CLAIM_SECONDS": "7"})
    assert (config.MAIL_BATCH_SIZE, config.MAIL_RETRY_INTERVALS, config.DELIVERY_STALE_CLAIM_SECONDS) == (50, [1, 2, 3], 7)
    with pytest.raises(ConfigError, match="MAIL_BATCH_SIZE"):
        Config.from_env({"APP_ENV": "testing", "MAIL_BATCH_SIZE": "0"})
    with pytest.raises(ConfigError, match="MAIL_RETRY_INTERVALS"):
        Config.from_env({"APP_ENV": "testing", "MAIL_RETRY_INTERVALS": "5,soon"})
