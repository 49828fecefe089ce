"""Notification emails: multipart text and HTML from Jinja templates, with threading and list headers."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email import charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime, formataddr
from functools import cache
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from jinja2 import Environment, FileSystemLoader, select_autoescape

from statuspage.config import ROOT
from statuspage.markdown import plain, render
from statuspage.models import Delivery, EventKind, OutboxEvent, Subscriber
from statuspage.notify import tokens
from statuspage.outbox.alerts import SEVERITY_IMPACT
from statuspage.page.profile import status_title


@dataclass(frozen=True)
class MailContext:
    """What every email needs to know about the page and this installation."""

    base_url: str
    page_name: str
    mail_from: str
    secret_key: str
    time_zone: str
    footer: str | None = None
    # The Settings page's sender name; else "<page> status" (never "Status status").
    sender_name: str | None = None
    # The page's logo (an absolute URL) and brand colour, for the emails' header.
    logo_url: str | None = None
    brand_color: str | None = None

    @property
    def status_name(self) -> str:
        """"Acme status" (or just the name, when it already says status)."""
        return status_title(self.page_name)

    @property
    def sender(self) -> str:
        return self.sender_name or self.status_name

    @property
    def domain(self) -> str:
        return self.mail_from.rsplit("@", 1)[-1] or "localhost"


@cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(ROOT / "templates" / "email")),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["markdown"] = render
    env.filters["plain"] = plain
    env.filters["words"] = lambda value: str(value or "").replace("_", " ").capitalize()
    return env


# The header's stripe: an incident's impact as the public page colours it; other mail takes the brand colour.
ACCENTS = {"none": "#1f6feb", "minor": "#b58100", "major": "#c2410c", "critical": "#b3261e",
           "maintenance": "#1f6feb"}
# Per-recipient links are filled into the once-rendered body through these markers.
MARKERS = {"confirm": "@@SP-CONFIRM@@", "manage": "@@SP-MANAGE@@", "unsubscribe": "@@SP-UNSUBSCRIBE@@"}
# Kinds with email templates of their own (named after the kind); the others read as an incident update.
OWN_TEMPLATES = {EventKind.CONFIRMATION, EventKind.MANAGE_LINK, EventKind.OWNER_NOTICE, EventKind.ALERT}
# Kinds addressed to someone who is no subscriber: the page owner, responders of an alert route.
UNSUBSCRIBED_KINDS = {EventKind.OWNER_NOTICE, EventKind.ALERT}
_UTF8_QP = charset.Charset("utf-8")
_UTF8_QP.body_encoding = charset.QP


# Any CR or LF except the CRLF of a fold (followed by a space or tab).
_BREAK = re.compile(r"\r\n(?![ \t])|\r(?!\n)|(?<!\r)\n")


class _WirePolicy(Compat32):
    """compat32 with CRLF line ends that writes ASCII headers as they are, and never a line break of a value's own.

    The stdlib re-parses and refolds every header through `email.header.Header`, which was the
    largest cost of a large fan-out. An ASCII value whose lines fit the 998-character limit needs
    no encoding; non-ASCII values (subject, names) are encoded once per event by `_encoded`.
    A CR or LF that is not a fold (CRLF then a space or tab) would start a header or the body
    of its own (header injection), so it becomes a space whatever the value came from.
    """

    def fold(self, name: str, value: str) -> str:
        value = _unbroken(value)
        return self._as_is(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        value = _unbroken(value)
        as_is = self._as_is(name, value)
        return as_is.encode("ascii") if as_is else super().fold_binary(name, value)

    def _as_is(self, name: str, value: str) -> str | None:
        """The header line unchanged when the value is ASCII text whose lines fit; None when it needs folding."""
        if isinstance(value, str) and value.isascii() and all(len(line) < 990 for line in value.split(self.linesep)):
            return f"{name}: {value}{self.linesep}"
        return None


def _unbroken(value: str) -> str:
    """The value with every CR or LF that is not a fold replaced by a space (a `Header` passes through)."""
    return _BREAK.sub(" ", value) if isinstance(value, str) else value


# SMTP wants CRLF line ends; the legacy policy otherwise writes bare LF.
_WIRE = _WirePolicy(linesep="\r\n")


def _encoded(value: str) -> str:
    """A header value as RFC 2047 ASCII (folded with CRLF), for headers shared by a whole event."""
    value = " ".join(value.splitlines())
    return value if value.isascii() else Header(value, "utf-8").encode(linesep="\r\n")


def ascii_address(address: str) -> str:
    """The address as SMTP without SMTPUTF8 takes it (IDNA domain); ValueError when it cannot be.

    Sign-up stores this form already; rows saved before it did are converted here, or fail
    with a reason instead of an exception in the middle of a batch.
    """
    if address.isascii() and not any(c in address for c in "\r\n"):
        return address
    try:
        return str(validate_email(address, check_deliverability=False, allow_smtputf8=False).ascii_email)
    except EmailNotValidError as exc:
        raise ValueError(f"cannot send to {address!r} without SMTPUTF8: {exc}") from None


@dataclass(frozen=True)
class OutgoingMail:
    """One message ready for a transport: envelope and bytes."""

    sender: str
    recipient: str
    data: bytes
    message_id: str


@dataclass(frozen=True)
class RenderedEvent:
    """An event's subject and bodies, rendered once and shared by all its recipients."""

    subject: str
    text: str
    html: str
    sender: str = ""
    list_id: str = ""


def personal_links(ctx: MailContext, subscriber: Subscriber | None, event: OutboxEvent) -> dict[str, str]:
    """The signed confirm, manage and unsubscribe links of one subscriber (none for the page owner)."""
    if subscriber is None:
        return {}

    def make(purpose: str, components: list[str] | None = None) -> str:
        return tokens.make(ctx.secret_key, purpose, subscriber.code, subscriber.token_nonce, components)

    choice = event.payload.get("components") if event.kind == EventKind.CONFIRMATION else None
    return {
        "confirm": f"{ctx.base_url}/subscribers/confirm/{make('confirm', choice)}",
        "manage": f"{ctx.base_url}/subscribers/manage/{make('manage')}",
        "unsubscribe": f"{ctx.base_url}/subscribers/unsubscribe/{make('unsubscribe')}",
    }


def thread_id(ctx: MailContext, incident_code: str, subscriber_code: str) -> str:
    """The Message-ID of an incident's first email to a subscriber; later ones refer to it."""
    return f"<incident.{incident_code}.{subscriber_code}@{ctx.domain}>"


def _subject(ctx: MailContext, event: OutboxEvent) -> str:
    payload = event.payload
    if event.kind == EventKind.CONFIRMATION:
        what = "webhook" if payload.get("endpoint") else "subscription"
        return f"[{ctx.page_name}] Confirm your {what}"
    if event.kind == EventKind.MANAGE_LINK:
        return f"[{ctx.page_name}] Manage your subscription"
    if event.kind == EventKind.OWNER_NOTICE:
        return f"[{ctx.page_name}] {payload['subject']}"
    if event.kind == EventKind.ALERT:
        return f"[{ctx.page_name} alert] {payload['title']}"
    if event.kind == EventKind.POSTMORTEM:
        return f"[{ctx.page_name}] Postmortem: {payload['name']}"
    status = str(payload["status"]).replace("_", " ").title()
    return f"[{ctx.page_name}] {payload['name']} - {status}"


def _accent(ctx: MailContext, event: OutboxEvent) -> str:
    """The header stripe's colour: an incident's impact, a maintenance's blue, an alert's urgency, else the brand."""
    payload = event.payload
    if event.kind == EventKind.MAINTENANCE:
        return ACCENTS["maintenance"]
    if event.kind in (EventKind.INCIDENT, EventKind.POSTMORTEM):
        return ACCENTS.get(str(payload.get("impact")), ACCENTS["none"])
    if event.kind == EventKind.ALERT:
        return ACCENTS[SEVERITY_IMPACT.get(str(payload.get("severity")), "none")]
    return ctx.brand_color or ACCENTS["none"]


def alert_action(payload: dict[str, object]) -> str:
    """What an alert's link offers, in words."""
    if payload.get("draft") and payload.get("action") == "trigger":
        return "Review and publish the draft"
    return {"incident": "Open the incident", "component": "Open the component"}.get(
        next((k for k in ("incident", "component") if payload.get(k)), ""), "Open the admin")


def render_event(ctx: MailContext, event: OutboxEvent, personal: bool, route_name: str = "") -> RenderedEvent:
    """Render an event's templates once, with markers where each recipient's links go."""
    payload = dict(event.payload)
    zone = ZoneInfo(ctx.time_zone)
    for key in ("display_at", "scheduled_for", "scheduled_until"):
        if payload.get(key):
            payload[key + "_local"] = datetime.fromisoformat(payload[key]).astimezone(zone).strftime(
                "%b %d, %Y %H:%M %Z")
    template = event.kind if event.kind in OWN_TEMPLATES else "incident"
    context = {"ctx": ctx, "event": event, "p": payload, "links": dict(MARKERS) if personal else {},
               "incident_url": f"{ctx.base_url}/incidents/{payload.get('incident', '')}",
               "action": alert_action(payload), "route_name": route_name,
               "accent": _accent(ctx, event)}
    env = _environment()
    return RenderedEvent(
        subject=_encoded(_subject(ctx, event)),
        text=env.get_template(f"{template}.txt").render(context),
        html=env.get_template(f"{template}.html").render(context),
        sender=formataddr((ctx.sender, ctx.mail_from)),
        list_id=formataddr((ctx.status_name, f"status.{ctx.domain}")),
    )


def build(
    ctx: MailContext, event: OutboxEvent, delivery: Delivery, now: datetime, rendered: RenderedEvent | None = None
) -> OutgoingMail:
    """The email of one delivery (pass `rendered` to reuse an event's bodies across a batch)."""
    subscriber = delivery.subscriber
    links = personal_links(ctx, subscriber, event)
    recipient = ascii_address(delivery.address)
    route = delivery.alert_channel.name if delivery.alert_channel else ""
    rendered = rendered or render_event(ctx, event, subscriber is not None, route)
    text, html = rendered.text, rendered.html
    for name, marker in MARKERS.items():
        text = text.replace(marker, links.get(name, ""))
        html = html.replace(marker, links.get(name, ""))
    # The compat32 MIME classes: several times faster than EmailMessage for a large fan-out.
    message = MIMEMultipart("alternative")
    message["Subject"] = rendered.subject
    message["From"] = rendered.sender
    message["To"] = recipient
    message["Date"] = format_datetime(now)
    message["Auto-Submitted"] = "auto-generated"
    message["List-Id"] = rendered.list_id
    incident = event.payload.get("incident")
    # A random part: row ids start again on every install (and after a restore), Message-IDs must not.
    message_id = f"<{secrets.token_hex(8)}.d{delivery.id}.e{event.id}@{ctx.domain}>"
    if incident and subscriber is not None:
        root = thread_id(ctx, incident, subscriber.code)
        if event.payload.get("first"):
            message_id = root
        else:
            message["In-Reply-To"] = root
            message["References"] = root
    message["Message-ID"] = message_id
    if links and event.kind != EventKind.CONFIRMATION:
        # RFC 8058 one-click needs only the https URL; no mailbox reads a mailto, so none is offered.
        message["List-Unsubscribe"] = f"<{links['unsubscribe']}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # typeshed types _charset as str only; the stdlib documents a Charset instance as accepted too.
    message.attach(MIMEText(text, "plain", _UTF8_QP))  # type: ignore[arg-type]
    message.attach(MIMEText(html, "html", _UTF8_QP))  # type: ignore[arg-type]
    return OutgoingMail(ascii_address(ctx.mail_from), recipient, message.as_bytes(policy=_WIRE), message_id)
