"""What the chat channels share: their address rules and their answers.

A chat subscriber is an incoming-webhook URL a stranger pasted. It must be
https (plain http only to this machine, when the operator allows private
targets for tests and trials), pass the subscriber address guard, and not
sit on another service's well-known host (a discord.com URL is no Slack
webhook). Self-hosted services (Mattermost, Teams workflow hosts in other
clouds) are taken as given. A 404 or 410 means the webhook was deleted: its
subscriber is removed, with an entry in the audit log.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

from statuspage.errors import InvalidInput
from statuspage.models import Delivery, SubscriberMode
from statuspage.notify.channels.addresses import guard_url, is_loopback, on_host, split_url
from statuspage.notify.channels.base import Batch
from statuspage.notify.channels.hooks import HookChannel, Request, json_request
from statuspage.notify.channels.notice import Notice, notice
from statuspage.outbound import guard

# Hosts only one service's webhooks live on (and names under them).
WELL_KNOWN: dict[SubscriberMode, tuple[str, ...]] = {
    SubscriberMode.SLACK: ("hooks.slack.com", "slack.com"),
    SubscriberMode.DISCORD: ("discord.com", "discordapp.com"),
    SubscriberMode.TEAMS: ("webhook.office.com", "logic.azure.com", "api.powerplatform.com",
                           "api.powerautomate.com", "flow.microsoft.com"),
}
LABELS = {SubscriberMode.SLACK: "Slack", SubscriberMode.DISCORD: "Discord", SubscriberMode.TEAMS: "Microsoft Teams"}


def clean_chat_url(mode: SubscriberMode, label: str, value: object, field: str, policy: guard.Policy) -> str:
    """A chat webhook URL for `mode`, by the rules in this module's docstring; InvalidInput otherwise."""
    noun = f"{label} webhook URL"
    text, parts = split_url(value, field, noun)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" and not (not policy.deny_private and is_loopback(host)):
        raise InvalidInput(f"The {noun} must start with https://.", field)
    for other, hosts in WELL_KNOWN.items():
        if other != mode and on_host(host, hosts):
            raise InvalidInput(f"That is a {LABELS[other]} webhook URL, not a {label} one: "
                               f"choose {LABELS[other]} to use it.", field)
    guard_url(parts, field, policy, noun)
    return text


class ChatChannel(HookChannel):
    """A chat service's incoming webhook: one message per update, rendered from a Notice."""

    removes_gone: ClassVar[bool] = True
    quarantines: ClassVar[bool] = True

    @classmethod
    def clean_address(cls, value: object, field: str, policy: guard.Policy) -> str:
        return clean_chat_url(cls.mode, cls.label, value, field, policy)

    def render(self, batch: Batch, delivery: Delivery) -> Request:
        return json_request(delivery.address, self.payload(notice(batch, delivery)))

    @abstractmethod
    def payload(self, notice: Notice) -> dict[str, Any]:
        """The JSON body the service takes, every piece of text escaped by its rules."""
