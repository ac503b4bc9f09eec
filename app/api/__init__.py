"""The JSON API under /api."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from app.api import announcements, auth, errors, openapi, posts  # noqa: E402,F401  (routes register on bp)
