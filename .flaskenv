# Read by `.venv/bin/flask` (python-dotenv). Real environment variables win.
FLASK_APP=app:create_app
APP_ENV=development
