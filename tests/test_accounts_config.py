"""Account settings from the environment: SMS backend choice, rate-limit storage, social providers."""
import pytest

from app.config import Config, ConfigError

PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": "x", "REDIS_URL": "redis://r:6379/0"}


def test_unknown_sms_backend_is_refused_by_name():
    with pytest.raises(ConfigError, match="SMS_BACKEND"):
        Config.from_env({"APP_ENV": "testing", "SMS_BACKEND": "carrier-pigeon"})


def test_production_has_no_sms_backend_unless_configured_and_development_uses_the_console():
    assert Config.from_env(PRODUCTION).SMS_BACKEND == ""
    assert Config.from_env({"APP_ENV": "testing"}).SMS_BACKEND == "console"


def test_rate_limits_are_stored_on_the_queue_redis_by_default():
    assert Config.from_env(PRODUCTION).RATELIMIT_STORAGE_URI == "redis://r:6379/0"
    assert Config.from_env({**PRODUCTION, "RATELIMIT_STORAGE_URI": "redis://limits/0"}).RATELIMIT_STORAGE_URI \
        == "redis://limits/0"


def test_social_provider_is_enabled_only_with_id_and_secret(app_factory):
    app = app_factory(KAKAO_CLIENT_ID="id", NAVER_CLIENT_ID="id", NAVER_CLIENT_SECRET="secret")
    assert set(app.extensions["social_providers"]) == {"naver"}


