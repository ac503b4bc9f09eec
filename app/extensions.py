"""Extensions, created unbound here and bound to an app in ``create_app``."""
from flask_babel import Babel
from flask_caching import Cache
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from app.light_requests import LightCSRFProtect, LightLoginManager
from app.redis_clients import RedisClients


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LightLoginManager()  # Flask-Login, without its per-response hook when there is no session
csrf = LightCSRFProtect()  # Flask-WTF's, looking at the method first
cache = Cache()
redis_clients = RedisClients()
babel = Babel()
