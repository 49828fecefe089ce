"""Notification emails: multipart text and HTML from Jinja templates, with threading and list headers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from functools import cache
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .. import ROOT
from ..markdown import plain, render
from ..models import Delivery, OutboxEvent, Subscriber
from . import tokens


@dataclass(frozen=True)
class MailContext:
    """What every email needs to know about the page and this installation."""

    base_url: str
    page_name: str
    mail_from: str
    secret_key: str
    time_zone: str
    footer: str | None = None

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


def _links(ctx: MailContext, subscriber: Subscriber | None) -> dict[str, str]:
    if subscriber is None:
        return {}
    make = lambda purpose: tokens.make(ctx.secret_key, purpose, subscriber.code, subscriber.token_nonce)  # noqa: E731
    return {
        "confirm": f"{ctx.base_url}/subscribers/confirm/{make('confirm')}",
        "manage": f"{ctx.base_url}/subscribers/manage/{make('manage')}",
        "unsubscribe": f"{ctx.base_url}/subscribers/unsubscribe/{make('unsubscribe')}",
        "unsubscribe_token": make("unsubscribe"),
    }


def thread_id(ctx: MailContext, incident_code: str, subscriber_code: str) -> str:
    """The Message-ID of an incident's first email to a subscriber; later ones refer to it."""
    return f"<incident.{incident_code}.{subscriber_code}@{ctx.domain}>"


def _subject(ctx: MailContext, event: OutboxEvent) -> str:
    payload = event.payload
    if event.kind == "confirmation":
        return f"[{ctx.page_name}] Confirm your subscription"
    if event.kind == "manage_link":
        return f"[{ctx.page_name}] Manage your subscription"
    if event.kind == "owner_notice":
        return f"[{ctx.page_name}] {payload['subject']}"
    if event.kind == "postmortem":
        return f"[{ctx.page_name}] Postmortem: {payload['name']}"
    status = str(payload["status"]).replace("_", " ").title()
    return f"[{ctx.page_name}] {payload['name']} - {status}"


def build(ctx: MailContext, event: OutboxEvent, delivery: Delivery, now: datetime) -> EmailMessage:
    """The email of one delivery."""
    subscriber = delivery.subscriber
    links = _links(ctx, subscriber)
    payload = dict(event.payload)
    zone = ZoneInfo(ctx.time_zone)
    for key in ("display_at", "scheduled_for", "scheduled_until"):
        if payload.get(key):
            payload[key + "_local"] = datetime.fromisoformat(payload[key]).astimezone(zone).strftime(
                "%b %d, %Y %H:%M %Z")
    template = event.kind if event.kind in {"confirmation", "manage_link", "owner_notice"} else "incident"
    context = {"ctx": ctx, "event": event, "p": payload, "links": links,
               "incident_url": f"{ctx.base_url}/incidents/{payload.get('incident', '')}"}
    env = _environment()
    message = EmailMessage(policy=SMTP)
    message["Subject"] = _subject(ctx, event)
    message["From"] = formataddr((f"{ctx.page_name} status", ctx.mail_from))
    message["To"] = delivery.address
    message["Date"] = format_datetime(now)
    message["Auto-Submitted"] = "auto-generated"
    message["List-Id"] = formataddr((f"{ctx.page_name} status", f"status.{ctx.domain}"))
    incident = payload.get("incident")
    if incident and subscriber is not None:
        root = thread_id(ctx, incident, subscriber.code)
        if payload.get("first"):
            message["Message-ID"] = root
        else:
            message["Message-ID"] = f"<d{delivery.id}.e{event.id}@{ctx.domain}>"
            message["In-Reply-To"] = root
            message["References"] = root
    else:
        message["Message-ID"] = f"<d{delivery.id}.e{event.id}@{ctx.domain}>"
    if links and event.kind != "confirmation":
        message["List-Unsubscribe"] = (
            f"<{links['unsubscribe']}>, "
            f"<mailto:{ctx.mail_from}?subject=unsubscribe%20{links['unsubscribe_token']}>"
        )
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(env.get_template(f"{template}.txt").render(context))
    message.add_alternative(env.get_template(f"{template}.html").render(context), subtype="html")
    return message
