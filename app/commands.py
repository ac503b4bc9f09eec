"""Flask CLI commands: `flask seed-demo`, `flask create-admin`, and the registration of every
``flask`` command (`flask check-redis`, `flask schedule ...`)."""
from __future__ import annotations

import importlib
import random
from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from redis.exceptions import RedisError
from sqlalchemy import func, select

from app.extensions import cache, db
from app.members.contact import InvalidContact, normalise_email
from app.members.service import find_user_by_email
from app.models.post import Post
from app.models.types import utcnow
from app.models.user import CHANNEL_EMAIL, User
from app.redis_checks import check_queue_redis
from app.redis_clients import make_queue_redis, redact_url

DEMO_PASSWORD = "filmclub-demo"
FILMS = ["Seven Samurai", "Spirited Away", "Parasite", "Paterson", "Tokyo Story", "The Handmaiden",
         "Stalker", "Burning", "In the Mood for Love", "Oldboy", "Cléo from 5 to 7", "Mother",
         "Decision to Leave", "The Host", "Close-Up", "Late Spring"]
ANGLES = ["Notes on", "Why we keep returning to", "A second look at", "Discussion thread:",
          "Screening report:", "Questions after", "Five scenes from", "The sound design of"]


def seed_posts(authors: list[User], count: int, rng: random.Random) -> None:
    """Add ``count`` posts spread over the past year, oldest first, in bulk."""
    start = utcnow() - timedelta(days=365)
    step = timedelta(days=365) / max(count, 1)
    rows = []
    for i in range(count):
        film = rng.choice(FILMS)
        created = start + step * i
        rows.append({
            "title": f"{rng.choice(ANGLES)} {film}"[:200],
            "body": f"{film} came up again at our last meeting.\n\n"
                    f"Post {i + 1} of the demo data: what did you notice this time?",
            "author_id": rng.choice(authors).id,
            "created_at": created, "updated_at": created,
        })
    db.session.execute(Post.__table__.insert(), rows)


@click.command("seed-demo")
@click.option("--posts", "post_count", default=300, show_default=True, help="How many posts to create.")
@click.option("--if-empty", is_flag=True, help="Do nothing if there are posts already.")
@with_appcontext
def seed_demo_command(post_count: int, if_empty: bool) -> None:
    """Load demo members and posts (members share the password shown)."""
    if if_empty and db.session.scalar(select(func.count()).select_from(Post)):
        click.echo("demo data: posts exist, nothing to do")
        return
    authors = []
    for number, name in enumerate(("Minji", "Jae", "Hana", "Sora", "Dong")):
        email = f"{name.lower()}@filmclub.example"
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            # Demo members are verified (they may post) and have demo mobile numbers.
            user = User(email=email, name=name, phone=f"+82100000000{number}", email_verified_at=utcnow())
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
        authors.append(user)
    db.session.flush()
    seed_posts(authors, post_count, random.Random(20181203))
    db.session.commit()
    click.echo(f"demo data: {post_count} posts by {len(authors)} members "
               f"(sign in as minji@filmclub.example / {DEMO_PASSWORD})")


MIN_PASSWORD_LENGTH = 8  # as for sign-up


@click.command("create-admin")
@click.argument("email")
@click.option("--password", help="Required for a new account; resets the password of an existing one.")
@click.option("--name", help="Display name of a new account (default: the part of EMAIL before the @).")
@with_appcontext
def create_admin_command(email: str, password: str | None, name: str | None) -> None:
    """Make EMAIL an admin who can use every admin page and post: create the account, or promote
    an existing member. The email address counts as verified (the operator vouches for it)."""
    try:
        email = normalise_email(email)
    except InvalidContact as exc:
        raise click.BadParameter(str(exc), param_hint="EMAIL") from None
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise click.BadParameter(f"must be at least {MIN_PASSWORD_LENGTH} characters", param_hint="--password")
    user = find_user_by_email(email)
    if user is None:
        if password is None:
            raise click.UsageError(f"no account for {email}: give --password to create one")
        user = User(email=normalise_email(email), name=(name or email.split("@")[0])[:100])
        db.session.add(user)
        action = "created admin"
    else:
        action = "promoted to admin" if not user.is_admin else "already an admin"
    if password is not None:
        user.set_password(password)
        if action == "already an admin":
            action = "admin, password reset"
    user.is_admin = True
    action += _vouch_for_email(user)
    db.session.commit()
    click.echo(f"{user.email}: {action}")


def _vouch_for_email(user: User) -> str:
    """An admin made at the server's console can post and RSVP at once: the operator who typed
    the address vouches for it, so it counts as verified, and notifications go there unless a
    verified phone already takes them. Returns what changed, for the command's output."""
    changed = ""
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        changed += "; email marked verified"
    if user.notification_channel not in (None, CHANNEL_EMAIL) and not user.phone_verified:
        user.notification_channel = CHANNEL_EMAIL
        changed += "; notifications go by email"
    return changed


@click.command("check-redis")
@with_appcontext
def check_redis_command() -> None:
    """Check the queue and cache Redis; exit 1 if one is unreachable or the queue is a cluster."""
    url = current_app.config["REDIS_URL"]
    client = make_queue_redis(url, tls_ca_file=current_app.config["REDIS_TLS_CA_FILE"],
                              retries=current_app.config["REDIS_RETRIES"],
                              max_backoff=current_app.config["REDIS_RETRY_MAX_BACKOFF"])
    try:
        report = check_queue_redis(client)
    except RedisError as exc:
        raise click.ClickException(f"queue Redis {redact_url(url)}: {exc}") from None
    state = "ok" if not report.problems else "WARNING"
    click.echo(f"queue Redis {redact_url(url)}: {state} (redis {report.version}, "
               f"maxmemory-policy {report.policy or 'unknown'})")
    cache_url = current_app.config["CACHE_REDIS_URL"]
    try:
        cache.cache.client.ping()
    except RedisError as exc:
        raise click.ClickException(f"cache Redis {redact_url(cache_url)}: {exc}") from None
    click.echo(f"cache Redis {redact_url(cache_url)}: ok")


class CommandsByPath(click.Group):
    """A command group loaded from ``module:attribute`` when it is used.

    The app names the scheduler's ``flask schedule`` commands by dotted path, the way it names
    job functions, so building an app (in the web, in a worker) never imports ``scheduler``.
    """

    def __init__(self, name: str, path: str, **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.path = path

    def _group(self) -> click.Group:
        module, _, attribute = self.path.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._group().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._group().get_command(ctx, name)


def register_commands(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(check_redis_command)
    app.cli.add_command(CommandsByPath("schedule", "scheduler.cli:schedule_cli",
                                       help="The periodic schedule (scheduler/periodic.py)."))
