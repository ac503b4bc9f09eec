"""Give the benchmark a fresh database: tables created anew and N posts.

Run as a subprocess (``python -m bench.seed --posts N``) with the benchmark
server's environment, so it uses exactly the database the server will.
"""
from __future__ import annotations

import argparse
import random

from app import create_app
from app.commands import seed_posts
from app.extensions import db
from app.models.user import User


def reset_and_seed(post_count: int) -> None:
    db.drop_all()
    db.create_all()
    authors = [User(email=f"{name.lower()}@bench.example", name=name) for name in ("Minji", "Jae", "Hana")]
    db.session.add_all(authors)
    db.session.flush()
    seed_posts(authors, post_count, random.Random(20181203))
    db.session.commit()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, required=True)
    args = parser.parse_args(argv)
    app = create_app()
    with app.app_context():
        reset_and_seed(args.posts)
        db.engine.dispose()


if __name__ == "__main__":
    main()
