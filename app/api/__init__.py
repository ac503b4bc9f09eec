"""The JSON API under /api."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from app.api import account, announcements, auth, errors, openapi, posts, screenings  # noqa: E402,F401  (routes register on bp)
