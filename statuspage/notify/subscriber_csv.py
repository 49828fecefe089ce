"""Subscribers as CSV: the admin's export, and an import that adds confirmed subscribers of every kind
but Statuspage webhooks (which need a new signing secret, so they subscribe again)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.accounts.users import clean_email
from statuspage.audit import Actor
from statuspage.db import utcnow
from statuspage.errors import InvalidInput
from statuspage.models import CHAT_MODES, Component, Subscriber, SubscriberMode
from statuspage.notify.channels import CHANNELS
from statuspage.notify.channels.sms import clean_phone
from statuspage.notify.subscribers import by_email, by_phone, search
from statuspage.outbound import guard

CSV_FIELDS = ["email", "endpoint", "confirmed", "components", "created_at", "mode", "phone_number"]
# (mode, address, components by name) of one row to import.
Row = tuple[SubscriberMode, str, list[Component]]


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP's CSV injection advice)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _uncell(value: str) -> str:
    """A cell as our own export wrote it, without the quote `_cell` added."""
    return value[1:] if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@") else value


def export_csv(session: Session) -> str:
    """Every subscriber as CSV (components by name, `;`-separated; empty means all)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for subscriber in search(session, limit=10_000_000):
        writer.writerow([_cell(value) for value in (
            subscriber.email or "", subscriber.endpoint or "",
            "yes" if subscriber.confirmed_at else "no",
            ";".join(c.name for c in subscriber.components),
            subscriber.created_at.isoformat(), subscriber.mode.value, subscriber.phone_number or "",
        )])
    return out.getvalue()


def _address(mode: SubscriberMode, row: Mapping[str, str | None], policy: guard.Policy) -> str:
    """The row's address for its mode, checked as a sign-up would check it; InvalidInput otherwise."""
    if mode == SubscriberMode.EMAIL:
        return clean_email(_uncell(row.get("email") or ""))
    if mode == SubscriberMode.SMS:
        return clean_phone(_uncell(row.get("phone_number") or ""))[0]
    return CHANNELS[mode].clean_address(row.get("endpoint") or "", "endpoint", policy)


def _mode(row: Mapping[str, str | None]) -> SubscriberMode | None:
    """The row's mode (by default email, or webhook with an endpoint); None when it is left out:
    a Statuspage webhook, or not confirmed."""
    written = (row.get("mode") or "").strip().lower()
    mode = written or ("webhook" if (row.get("endpoint") or "").strip() else "email")
    if mode == "webhook" or (row.get("confirmed") or "").strip().lower() == "no":
        return None
    if mode not in ("email", "sms", *(m.value for m in CHAT_MODES)):
        raise InvalidInput(f"unknown mode {written!r}", "file")
    return SubscriberMode(mode)


def _read(session: Session, text: str, policy: guard.Policy) -> tuple[list[Row], int]:
    """Every row to import and how many were left out; InvalidInput naming the first bad rows."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"email", "mode"} & set(reader.fieldnames):
        raise InvalidInput("The CSV needs a header row with an 'email' column. (Our own export's 'mode' "
                           "column with 'endpoint' or 'phone_number' also does.)", "file")
    names = {c.name.lower(): c for c in session.scalars(select(Component))}
    rows: dict[tuple[SubscriberMode, str], Row] = {}
    errors: list[str] = []
    left_out = 0
    for number, row in enumerate(reader, start=2):
        try:
            mode = _mode(row)
            if mode is None:
                left_out += 1
                continue
            address = _address(mode, row, policy)
        except InvalidInput as exc:
            errors.append(f"line {number}: {exc.message}")
            continue
        wanted = [n.strip() for n in (row.get("components") or "").split(";") if n.strip()]
        unknown = [n for n in wanted if n.lower() not in names]
        if unknown:
            errors.append(f"line {number}: unknown component {unknown[0]!r}")
            continue
        rows.setdefault((mode, address), (mode, address, [names[n.lower()] for n in wanted]))
    if errors:
        raise InvalidInput("Nothing imported. " + "; ".join(errors[:5]), "file")
    return list(rows.values()), left_out


def _exists(session: Session, mode: SubscriberMode, address: str) -> bool:
    if mode == SubscriberMode.EMAIL:
        return by_email(session, address) is not None
    if mode == SubscriberMode.SMS:
        return by_phone(session, address) is not None
    return session.scalar(select(Subscriber.id).where(Subscriber.mode == mode, Subscriber.endpoint == address)) \
        is not None


def import_csv(session: Session, actor: Actor, text: str, now: datetime | None = None,
               policy: guard.Policy | None = None) -> dict[str, Any]:
    """Add confirmed subscribers from CSV: an `email` column, or our export's `mode` with `email`,
    `endpoint` (chat webhooks) or `phone_number` (E.164); optional `components` by name.

    The whole file is checked first; one bad row rejects the import so nothing is half-done.
    Rows that are Statuspage webhooks or say `confirmed` = no are left out: a webhook needs a new
    secret, and no one is confirmed on their behalf.
    """
    now = now or utcnow()
    rows, left_out = _read(session, text, policy or guard.Policy.for_subscribers())
    created = skipped = 0
    for mode, address, chosen in rows:
        if _exists(session, mode, address):
            skipped += 1
            continue
        subscriber = Subscriber(mode=mode, confirmed_at=now, created_at=now,
                                **{mode.address_column: address, "all_components": not chosen})
        subscriber.components = list(chosen)
        if mode == SubscriberMode.SMS:
            subscriber.phone_country = clean_phone(address)[1]
        session.add(subscriber)
        created += 1
    session.flush()
    audit.record(session, actor, "subscriber.import", "subscriber", None,
                 {"created": created, "skipped": skipped, "left_out": left_out})
    return {"created": created, "skipped": skipped, "left_out": left_out}
