"""Configuration comes from the environment, with refusals that say what is wrong."""
import os
import re
import subprocess
import sys

import pytest

from app import defaults
from app.config import ROOT_DIR, Config, ConfigError, Settings, derive_cache_url, normalise_database_url


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


def test_a_bad_value_is_one_line_naming_the_variable_and_the_value():
    for name, bad, says in [("PORT", "eighty", "whole number"), ("MAIL_USE_TLS", "maybe", "boolean"),
                            ("APP_ENV", "prod", "'production', 'development' or 'testing'"),
                            ("REMINDER_LEADS", "1d,3x", "'3x' is not one"), ("DAILY_NOTIFICATIONS_AT", "25:00", "HH:MM"),
                            ("APP_TIMEZONE", "Mars/Base", "time zone"), ("CACHE_REDIS_TIMEOUT", "-1", "at least 0")]:
        with pytest.raises(ConfigError) as caught:
            Config.from_env({"APP_ENV": "testing", name: bad})
        message = str(caught.value)
        assert message.startswith(f"{name} ") and says in message and repr(bad) in message and "\n" not in message


def test_an_empty_variable_counts_as_unset():
    config = Config.from_env({"APP_ENV": "testing", "PORT": "", "MAIL_BATCH_SIZE": "", "MAIL_RETRY_INTERVALS": "",
                              "SOLAPI_API_BASE": ""})
    assert (config.PORT, config.MAIL_BATCH_SIZE, config.SOLAPI_API_BASE) == (5000, defaults.MAIL_BATCH_SIZE,
                                                                            "https://api.solapi.com")
    assert config.MAIL_RETRY_INTERVALS == list(defaults.MAIL_RETRY_INTERVALS)


def test_every_setting_is_documented_in_env_example_and_every_documented_variable_is_read():
    text = (ROOT_DIR / ".env.example").read_text()
    variables = re.compile(r"^#?\s*([A-Z][A-Z0-9_]+)=", re.M)
    documented = set(variables.findall(text))
    settings = set(Settings.model_fields)
    assert settings - documented == set(), "settings missing from .env.example"
    # The container entry point's own section, and what gunicorn and the var/ directory read.
    container = text.partition("# --- Container entry point only")[2].partition("\n# ---")[0]
    outside_the_app = set(variables.findall(container)) | {"WEB_CONCURRENCY", "FILMCLUB_VAR_DIR"}
    assert documented - settings - outside_the_app == set(), ".env.example names a variable nothing reads"
    assert set(Config.from_env({"APP_ENV": "testing"}).as_dict()) >= settings - {"DATABASE_URL"}


@pytest.mark.slow  # starts `flask` and the `make run` launcher as processes
def test_bad_values_stop_flask_and_make_run_with_one_line_not_a_traceback(tmp_path):
    env = {**os.environ, "APP_ENV": "development", "PORT": "eighty", "FILMCLUB_VAR_DIR": str(tmp_path)}
    for command in ([str(ROOT_DIR / ".venv" / "bin" / "flask"), "routes"], [sys.executable, "-m", "deploy.local.stack"]):
        done = subprocess.run(command, cwd=ROOT_DIR, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode != 0, command
        assert "PORT must be a whole number, got 'eighty'" in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert not (tmp_path / "redis").exists()  # nothing was started


def test_read_sites_never_restate_a_default():
    """``config.get("MAIL_TIMEOUT", 10.0)`` would keep a second default: the settings model has the one."""
    restated = re.compile(r"""\.get\(\s*f?["'][A-Z][A-Z0-9_]*(\{[^}]*\}[A-Z0-9_]*)*["']\s*,""")
    found = [f"{path.relative_to(ROOT_DIR)}:{number}: {line.strip()}"
             for package in ("app", "jobs", "scheduler", "deploy")
             for path in sorted((ROOT_DIR / package).rglob("*.py")) if path.name != "config.py"
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if restated.search(line) and "environ" not in line]
    assert found == []
