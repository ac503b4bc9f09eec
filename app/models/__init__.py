"""Database models. Importing this package registers every table with SQLAlchemy."""
from app.models.delivery import Delivery
from app.models.post import Post
from app.models.screening import Reminder, Rsvp, Screening
from app.models.user import User

__all__ = ["Delivery", "Post", "Reminder", "Rsvp", "Screening", "User"]
