"""Notification channels: one module per channel, registered in `CHANNELS` (as probe kinds are in `CHECKERS`).

Adding a channel: a value in `models.SubscriberMode`, a module here with a `Channel` subclass
(`clean_address`, and `deliver`; or `render` on `HookChannel` for one POST per message, or
`payload` on `ChatChannel` for a chat service), and its entry below. The outbox, leases,
retries, rate limits and targeting are shared.
"""

from __future__ import annotations

from statuspage.models import SubscriberMode
from statuspage.notify.channels.base import Batch, Channel, Outcome
from statuspage.notify.channels.discord import DiscordChannel
from statuspage.notify.channels.email import EmailChannel
from statuspage.notify.channels.pagerduty import PagerDutyChannel
from statuspage.notify.channels.slack import MattermostChannel, SlackChannel
from statuspage.notify.channels.sms import SmsChannel
from statuspage.notify.channels.statuspage import WebhookChannel
from statuspage.notify.channels.teams import TeamsChannel

CHANNELS: dict[SubscriberMode, type[Channel]] = {
    channel.mode: channel
    for channel in (EmailChannel, WebhookChannel, SlackChannel, MattermostChannel, TeamsChannel, DiscordChannel,
                    SmsChannel, PagerDutyChannel)
}

__all__ = ["CHANNELS", "Batch", "Channel", "Outcome"]
