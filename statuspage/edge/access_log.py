"""gunicorn's access log without secrets: `api_key=` in a query string is written as `api_key=[redacted]`.

Statuspage clients may send the API key as a query parameter; an access log is read by more people
than the key was meant for. Use it with `gunicorn --logger-class statuspage.edge.access_log.RedactingLogger`
(`make run` does).
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

SECRET_PARAMETER = re.compile(r"(?i)((?:^|[?&;])api_key=)[^&;\s\"]*")


def redact(text: str) -> str:
    """`text` with the value of every api_key parameter replaced."""
    return SECRET_PARAMETER.sub(r"\1[redacted]", text)


class RedactingLogger(Logger):
    """gunicorn's logger, redacting the request line, the query and the referrer."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("r", "q", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
