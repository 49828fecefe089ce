"""Entry point: `gunicorn app:app` and `flask --app app ...`."""

import gc

from statuspage import create_app

app = create_app()
# Everything loaded so far lives as long as the process: keep it out of the garbage collector's
# full passes, which otherwise add 60-130 ms to an occasional page render.
gc.freeze()
