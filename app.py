"""Entry point: `gunicorn app:app` and `flask --app app ...`."""

from statuspage import create_app

app = create_app()
