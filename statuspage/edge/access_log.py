"""gunicorn's access log without secrets: `api_key=` in a query string is written as `api_key=[redacted]`.

Statuspage clients may send the API key as a query parameter; an access log is read by more people
than the key was meant for. Use it with `gunicorn --logger-class statuspage.edge.access_log.RedactingLogger`
(`make run` does).

The default format (Apache's combined log) is written directly: gunicorn builds a dictionary of every
request header, response header and environ entry for each line, which cost 24-29 µs a request
against about 10 here, on a cached page that costs a few µs to answer. When the log goes only to
plain stream or file handlers, as gunicorn's own for `--access-logfile`, the line is written to their
streams without making a `logging.LogRecord` (3.5 µs a line instead of 7.5); a formatter, handler or
filter that a logging configuration adds gets its records through `logging` as before. Any other
`--access-logformat` goes through gunicorn's atoms, redacted the same way.
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast

from gunicorn.config import AccessLogFormat
from gunicorn.glogging import Logger

SECRET_PARAMETER = re.compile(r"(?i)((?:^|[?&;])api_key=)[^&;\s\"]*")
COMBINED = AccessLogFormat.default
# What gunicorn's access handlers format with (`Logger.access_fmt`): the message alone.
MESSAGE_ONLY = "%(message)s"


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
            line = combined_line(self, resp, environ)
            handlers = plain_handlers(self.access_log)
            if handlers is None:
                self.access_log.info("%s", line)
            else:
                for handler in handlers:
                    write_line(handler, line)
        except Exception:  # as gunicorn does: a log line must never fail the request
            self.exception("access log")


def plain_handlers(log: logging.Logger) -> list[logging.StreamHandler] | None:
    """The handlers of `log` when they are all plain stream or file handlers writing the message as it
    is (as gunicorn's own are), with no filter and nothing propagated, so that writing the line to their
    streams is exactly what `logging` would do; None when a line must go through `logging`."""
    if log.filters or log.propagate or log.disabled or not log.isEnabledFor(logging.INFO):
        return None
    plain = []
    for handler in log.handlers:
        if (type(handler) not in (logging.StreamHandler, logging.FileHandler)
                or handler.filters
                or handler.level > logging.INFO or getattr(handler.formatter, "_fmt", None) != MESSAGE_ONLY):
            return None
        plain.append(cast(logging.StreamHandler, handler))
    return plain


def write_line(handler: logging.StreamHandler, line: str) -> None:
    """What `handler.emit` writes for a message-only record, under the lock gunicorn's reopen (USR1) takes."""
    handler.acquire()
    try:
        if handler.stream is None:  # a file handler closed by logging.shutdown: emit opens it again
            handler.emit(logging.makeLogRecord({"msg": line, "levelno": logging.INFO, "levelname": "INFO"}))
            return
        handler.stream.write(line + handler.terminator)
        handler.stream.flush()
    finally:
        handler.release()


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
