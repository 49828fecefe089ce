"""Database probes: connect with a fresh connection and run one query, timing both.

The URL is stored without its password; the password comes from an
environment variable of the worker whose name the probe keeps
(`password_env`), so it is never stored and never shown back. The name
must start with `PROBE_PASSWORD_`, so that a probe cannot send another of
the process's secrets to a server of its choosing.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from statuspage.errors import InvalidInput
from statuspage.models import ProbeKind
from statuspage.outbound.database import DATABASE_QUERY_KEYS, database_ping
from statuspage.outbound.guard import OutboundError
from statuspage.probes.base import Checker, CheckResult, ProbeSpec, failed, passed
from statuspage.probes.fields import clean_host, parse_text

ENV_PREFIX = "PROBE_PASSWORD_"
_ENV_NAME = re.compile(r"^PROBE_PASSWORD_[A-Z0-9_]{1,100}$")


def parse_url(value: object) -> URL:
    """A SQLAlchemy URL without a password, for a driver this installation has."""
    text = parse_text(value, "target", 2000, required=True)
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise InvalidInput("target must be a SQLAlchemy URL like postgresql+psycopg://user@host/db.",
                           "target") from None
    if url.password is not None:
        raise InvalidInput("Leave the password out of the URL: put it in an environment variable "
                           f"named {ENV_PREFIX}… and give that name as password_env.", "target")
    try:
        url.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError):
        raise InvalidInput(f"No driver for {url.drivername!r} is installed here; "
                           "use postgresql+psycopg:// or sqlite:///.", "target") from None
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise InvalidInput("A SQLite probe needs the path of a database file.", "target")
        if url.query:
            raise InvalidInput("A SQLite target takes no ?parameters: the probe always opens the file "
                               "read-only.", "target")
        return url
    unknown = sorted(set(url.query) - DATABASE_QUERY_KEYS)
    if unknown:
        raise InvalidInput(f"The URL parameter {unknown[0]!r} is not allowed (the host and port go in the URL "
                           f"itself); allowed: {', '.join(sorted(DATABASE_QUERY_KEYS))}.", "target")
    if not url.host:
        raise InvalidInput("target needs a host, like postgresql+psycopg://app@db.internal:5432/app "
                           "(the probe connects over TCP, not a local socket).", "target")
    clean_host(url.host)
    if url.port is not None and not 1 <= url.port <= 65535:
        raise InvalidInput("The port in target must be a number from 1 to 65535.", "target")
    return url


class DatabaseChecker(Checker):
    """SELECT 1 (on SQLite: a read of its schema) over a fresh connection; refused or exhausted
    connections are failures."""

    kind = ProbeKind.DATABASE
    options = {"password_env": None}

    @classmethod
    def clean_target(cls, value: object) -> str:
        return parse_url(value).render_as_string(hide_password=False)

    @classmethod
    def connects_to(cls, target: str | None) -> str | None:
        if not target:
            return None
        url = make_url(target)
        return None if url.get_backend_name() == "sqlite" else url.host or "127.0.0.1"

    @classmethod
    def clean_options(cls, values: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        options = {**cls.options, **current}
        if "password_env" in values:
            name = parse_text(values["password_env"], "password_env", 120) or None
            if name and not _ENV_NAME.match(name):
                raise InvalidInput(f"password_env must be an environment variable name starting with "
                                   f"{ENV_PREFIX} (capitals, digits and _).", "password_env")
            options["password_env"] = name
        return options

    def run(self, probe: ProbeSpec, now: datetime) -> CheckResult:
        name = probe.options.get("password_env")
        password = None
        if name:
            password = os.environ.get(name)
            if password is None:
                return failed(f"the environment variable {name} is not set on the worker")
        try:
            connect_ms, query_ms = database_ping(make_url(probe.target or ""), password, policy=self.policy,
                                                 timeout=probe.timeout_seconds)
        except OutboundError as exc:
            return failed(exc.message)
        return passed(probe, connect_ms + query_ms, connect_ms=round(connect_ms, 2), query_ms=round(query_ms, 2))
