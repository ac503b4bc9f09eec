"""Database models. Importing this package registers every table with SQLAlchemy."""
from app.models.announcement import Announcement
from app.models.delivery import Delivery
from app.models.post import Post
from app.models.user import User

__all__ = ["Announcement", "Delivery", "Post", "User"]
