"""Korean first, English too: which language a page is in, the switch in the footer, the catalogs.

The suite runs in English (APP_LOCALE=en, tests/conftest.py); these tests ask for Korean themselves.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.config import LOCALES, Config
from app.exceptions import ConfigError
from app.models.types import utcnow
from tests.helpers.web import login

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "N_": None, "Phrase": None}


def ko_catalog():
    with open(TRANSLATIONS / "ko" / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale="ko")


def visible_text(page: str) -> str:
    page = re.sub(r"(?s)<(style|script)\b.*?</\1>", " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


# -- the catalogs ---------------------------------------------------------------------------------

def test_every_korean_message_is_translated_and_none_is_fuzzy():
    untranslated, fuzzy = [], []
    for message in ko_catalog():
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert untranslated == [] and fuzzy == []


def _source_messages() -> set[str]:
    """Every string the code and templates mark, extracted as `make catalogs` does (babel.cfg)."""
    method_map = [("app/**.py", "python"), ("jobs/**.py", "python"), ("scheduler/**.py", "python"),
                  ("app/templates/**.html", "jinja2"), ("app/templates/**.txt", "jinja2")]
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, keywords=KEYWORDS):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_the_korean_catalog_has_every_marked_string_of_the_code():
    catalog = {m.id[0] if isinstance(m.id, tuple) else m.id for m in ko_catalog() if m.id}
    missing = sorted(_source_messages() - catalog)
    assert missing == [], f"run `make catalogs` and translate these in ko/messages.po: {missing}"


def test_app_locale_must_be_korean_or_english():
    with pytest.raises(ConfigError, match="APP_LOCALE must be one of ko, en"):
        Config.from_env({"APP_ENV": "testing", "APP_LOCALE": "fr"})
    assert Config.from_env({"APP_ENV": "testing"}).APP_LOCALE == "ko"  # Korean unless told otherwise
    assert LOCALES[0] == "ko"


# -- choosing the language ------------------------------------------------------------------------

def lang(response) -> str:
    return re.search(r'<html lang="(\w+)"', response.get_data(as_text=True)).group(1)


def test_korean_by_default_and_accept_language_picks_english(app_factory):
    app = app_factory(APP_LOCALE="ko")
    client = app.test_client()
    page = client.get("/posts/")
    assert lang(page) == "ko" and "로그인" in page.get_data(as_text=True)
    english = client.get("/posts/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert lang(english) == "en" and "Sign in" in english.get_data(as_text=True)
    assert lang(client.get("/posts/", headers={"Accept-Language": "fr, ko;q=0.5"})) == "ko"
    assert {"Accept-Language", "Cookie"} <= set(english.vary)


# The switch carries no CSRF token (see app/language/views.py): browsers say where a form came from.
FROM_THIS_SITE = {"Origin": "http://localhost"}


def test_the_footer_switch_keeps_the_choice_and_a_member_keeps_it_after_signing_in(app_factory, make_user):
    app = app_factory(APP_LOCALE="en")
    make_user()
    client = app.test_client()
    response = client.post("/language", data={"locale": "ko", "next": "/screenings/"}, headers=FROM_THIS_SITE)
    assert response.status_code == 302 and response.headers["Location"] == "/screenings/"
    assert lang(client.get("/screenings/", headers={"Accept-Language": "en"})) == "ko"  # the cookie wins
    login(client, "ada@example.com")
    client.post("/language", data={"locale": "en", "next": "/posts/"}, headers=FROM_THIS_SITE)
    other_device = app.test_client()
    other_device.set_cookie("locale", "ko")
    login(other_device, "ada@example.com")
    assert lang(other_device.get("/posts/")) == "en"  # the member's saved choice beats the cookie
    with app.app_context():
        from app.extensions import db
        from app.models.user import User
        assert db.session.query(User.locale).filter_by(email="ada@example.com").scalar() == "en"


def test_the_switch_refuses_unknown_languages_and_foreign_next(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=False)
    client = app.test_client()
    bad = client.post("/language", data={"locale": "fr", "next": "/posts/"}, headers=FROM_THIS_SITE)
    assert bad.status_code == 400 and "ko, en" in bad.get_data(as_text=True)
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = client.post("/language", data={"locale": "en", "next": target}, headers=FROM_THIS_SITE)
        assert response.status_code == 302 and response.headers["Location"] == "/posts/", target


def test_another_site_cannot_switch_a_visitors_or_members_language(app_factory, make_user):
    app = app_factory(APP_LOCALE="en")
    make_user()
    client = app.test_client()
    login(client, "ada@example.com")
    for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"},
                    {"Origin": "null"}, {}):
        refused = client.post("/language", data={"locale": "ko", "next": "/posts/"}, headers=headers)
        assert refused.status_code == 403, headers
        assert "cross-site" in refused.get_data(as_text=True).lower() and "locale=" not in refused.headers.get(
            "Set-Cookie", ""), headers
    with app.app_context():
        from app.extensions import db
        from app.models.user import User
        assert db.session.query(User.locale).filter_by(email="ada@example.com").scalar() != "ko"
    referred = client.post("/language", data={"locale": "ko", "next": "/posts/"},
                           headers={"Referer": "http://localhost/screenings/"})
    assert referred.status_code == 302 and "locale=ko" in referred.headers["Set-Cookie"]


# -- the words on Korean pages --------------------------------------------------------------------

# Words that stay as they are in Korean: names, units and the English switch label.
ALLOWED_LATIN = {"English", "KST", "RQ", "SMS", "DEV_SMS_DIR", "e.g", "PM", "AM"}


@pytest.fixture
def korean_visitors(app_factory, make_user):
    app = app_factory(APP_LOCALE="ko")
    make_user(name="김영희", locale="ko")
    make_user(email="admin@example.com", name="관리자", is_admin=True, locale="ko")
    admin = app.test_client()
    login(admin, "admin@example.com")
    post_id = admin.post("/api/posts", json={"title": "안녕하세요", "body": "첫 글\n\n둘째 문단"}).get_json()["id"]
    screening_id = admin.post("/api/screenings", json={
        "title": "오즈의 밤", "film": "동경 이야기", "place": "2층 세미나실", "capacity": 1,
        "starts_at": utcnow().replace(year=utcnow().year + 1).isoformat()}).get_json()["id"]
    announcement = admin.post("/api/announcements", json={"subject": "공지", "body": "모두에게"}).get_json()["id"]
    member = app.test_client()
    login(member, "ada@example.com")
    return app, {"anonymous": app.test_client(), "member": member, "admin": admin}, \
        {"post_id": post_id, "screening_id": screening_id, "announcement_id": announcement}


def test_korean_pages_have_no_english_words(korean_visitors):
    from tests.test_every_page import fill, html_get_routes

    app, clients, ids = korean_visitors
    missing = {name: 10**9 for name in ids} | {"token": 1}
    ids = ids | {"token": 1}
    checked = 0
    for who, client in clients.items():
        for rule, _ in html_get_routes(app):
            for url in {fill(rule, ids), fill(rule, missing)}:
                response = client.get(url)
                if response.mimetype != "text/html" or response.status_code in (301, 302, 303):
                    continue
                page = response.get_data(as_text=True)
                assert '<html lang="ko">' in page, (who, url)
                words = set(re.findall(r"[A-Za-z][A-Za-z_.]*[A-Za-z]", visible_text(page))) - ALLOWED_LATIN
                words = {w for w in words if "@" not in w and not w.startswith("example")}
                assert words == set(), (who, url, response.status_code, sorted(words))
                checked += 1
    assert checked >= 20


def test_seats_left_in_korean_and_english_plurals(app_factory, make_user):
    app = app_factory(APP_LOCALE="ko")
    make_user(email="admin@example.com", name="Admin", is_admin=True)
    admin = app.test_client()
    login(admin, "admin@example.com")
    starts = utcnow().replace(year=utcnow().year + 1).isoformat()
    for capacity in (1, 2):
        admin.post("/api/screenings", json={"title": f"S{capacity}", "film": "F", "place": "P",
                                            "capacity": capacity, "starts_at": starts})
    korean = visible_text(app.test_client().get("/screenings/").get_data(as_text=True))
    assert "좌석 1개 남음" in korean and "좌석 2개 남음" in korean
    english = visible_text(app.test_client().get("/screenings/", headers={"Accept-Language": "en"})
                           .get_data(as_text=True))
    assert "1 seat left" in english and "2 seats left" in english and "1 seats left" not in english


def test_form_errors_and_flashes_are_korean(app_factory, make_user):
    app = app_factory(APP_LOCALE="ko", WTF_CSRF_ENABLED=False)
    make_user()
    client = app.test_client()
    page = client.post("/auth/login", data={"email": "ada@example.com", "password": "wrong"})
    assert page.status_code == 400 and "이메일 또는 비밀번호가 올바르지 않습니다." in page.get_data(as_text=True)
    page = client.post("/auth/signup", data={"email": "x@example.com", "name": "", "password": "password",
                                             "phone": "abc", "channel": "email"})
    text = visible_text(page.get_data(as_text=True))
    assert "글자가 있습니다" in text  # the phone number's error, from the core's Phrase
    assert "가장 흔한 비밀번호" in text  # the password rule
    assert "This field is required" not in text  # WTForms' own messages come in Korean too
    client.post("/auth/login", data={"email": "ada@example.com", "password": "correct-horse"})
    client.post("/auth/logout", data={})
    assert "로그아웃했습니다." in client.get("/posts/").get_data(as_text=True)


def test_error_pages_speak_korean(app_factory):
    app = app_factory(APP_LOCALE="ko")
    page = app.test_client().get("/posts/999999")
    text = page.get_data(as_text=True)
    assert page.status_code == 404 and "페이지를 찾을 수 없습니다" in text and '<html lang="ko">' in text
    assert "Page not found" not in text


def test_translation_and_the_time_filter_add_no_database_call_to_a_cached_page(app_factory, make_user):
    """A cached list page asks the database nothing more in Korean than in English (and nothing at all
    for an anonymous reader once cached): the language and the times are decided in memory."""
    from sqlalchemy import event

    from app.extensions import db

    app = app_factory(APP_LOCALE="ko")
    make_user()
    author = app.test_client()
    login(author, "ada@example.com")
    author.post("/api/posts", json={"title": "제목", "body": "본문"})
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(connection, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    reader = app.test_client()
    try:
        for headers in ({}, {"Accept-Language": "en"}):
            reader.get("/posts/", headers=headers)  # fills the cache
            statements.clear()
            page = reader.get("/posts/", headers=headers).get_data(as_text=True)
            assert "KST" in page and statements == [], (headers, statements)
    finally:
        event.remove(engine, "before_cursor_execute", record)
