"""Database models. Importing this package registers every table with SQLAlchemy."""
from app.models.announcement import Announcement
from app.models.delivery import Delivery
from app.models.member_session import MemberSession
from app.models.post import Post
from app.models.screening import Reminder, Rsvp, Screening
from app.models.social_account import SocialAccount
from app.models.user import User
from app.models.verification_code import VerificationCode

__all__ = ["Announcement", "Delivery", "MemberSession", "Post", "Reminder", "Rsvp", "Screening", "SocialAccount", "User",
           "VerificationCode"]
