"""The production gunicorn settings without the access log: a control for what the log costs per request.

`gunicorn -c python:gunicorn_no_access_log` (with bench/ and the checkout on PYTHONPATH).
"""

from __future__ import annotations

from statuspage.edge import gunicorn_conf

# Every setting of the production file (gunicorn ignores names that are not settings), then the one change.
globals().update({name: value for name, value in vars(gunicorn_conf).items() if not name.startswith("_")})
accesslog = None
