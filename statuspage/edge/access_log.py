"""gunicorn's access log without secrets: `api_key=` in a query string is written as `api_key=[redacted]`.

Statuspage clients may send the API key as a query parameter; an access log is read by more people
than the key was meant for. Use it with `gunicorn --logger-class statuspage.edge.access_log.RedactingLogger`
(`make run` does).

The default format (Apache's combined log) is written directly: gunicorn builds a dictionary of every
request header, response header and environ entry for each line, which cost 24-29 µs a request
against about 10 here, on a cached page that costs a few µs to answer. Any other
`--access-logformat` goes through gunicorn's atoms, redacted the same way.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.config import AccessLogFormat
from gunicorn.glogging import Logger

SECRET_PARAMETER = re.compile(r"(?i)((?:^|[?&;])api_key=)[^&;\s\"]*")
COMBINED = AccessLogFormat.default


def redact(text: str) -> str:
    """`text` with the value of every api_key parameter replaced."""
    return SECRET_PARAMETER.sub(r"\1[redacted]", text) if "=" in text else text


class RedactingLogger(Logger):
    """gunicorn's logger, redacting the request line, the query and the referrer."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("r", "q", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        if self.cfg.access_log_format != COMBINED:
            super().access(resp, req, environ, request_time)
            return
        try:
            self.access_log.info("%s", combined_line(self, resp, environ))
        except Exception:  # as gunicorn does: a log line must never fail the request
            self.exception("access log")


def combined_line(logger: Logger, resp: Any, environ: dict[str, Any]) -> str:
    """The line gunicorn's default format writes (`%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"`),
    redacted, with double quotes in the values escaped as gunicorn escapes them."""
    status = resp.status
    if isinstance(status, str):
        status = status.split(None, 1)[0]
    sent = getattr(resp, "sent", None)
    request_line = f'{environ["REQUEST_METHOD"]} {environ["RAW_URI"]} {environ["SERVER_PROTOCOL"]}'
    referrer, agent = redact(environ.get("HTTP_REFERER", "-")), environ.get("HTTP_USER_AGENT", "-")
    fields = (_quoted(environ.get("REMOTE_ADDR", "-")), "-", _quoted(logger._get_user(environ) or "-"), logger.now(),
              f'"{_quoted(redact(request_line))}"', status, "-" if sent is None else sent,
              f'"{_quoted(referrer)}"', f'"{_quoted(agent)}"')
    return " ".join(map(str, fields))


def _quoted(value: str) -> str:
    return value.replace('"', '\\"') if '"' in value else value
