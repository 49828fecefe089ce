"""The benchmark's yardstick: the smallest Flask app, one fixed string.

Served by gunicorn with the same settings as ours, it measures what the
machine, gunicorn and Flask cost before any of our code runs.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "All Systems Operational"
