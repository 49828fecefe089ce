"""SMS through a Twilio-compatible REST API: short texts (title, status, a short link) within two segments.

Numbers are checked and stored in E.164 (+14155550100) with Google's
`phonenumbers`. The API is Twilio's Messages resource: a form POST of `To`,
`From` and `Body` to `<api>/2010-04-01/Accounts/<sid>/Messages.json` with
Basic auth, answered 201. Its 429 is waited out as asked (Retry-After); a
400 is permanent (error 21610, a number that texted STOP, removes the
subscriber); 401, 403 and 404 point at the operator's settings and are retried.
All texts share the account's limit, so they go out one at a time.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from typing import ClassVar
from urllib.parse import urlencode

import phonenumbers

from statuspage.errors import InvalidInput
from statuspage.models import Delivery, EventKind, SubscriberMode
from statuspage.notify import tokens
from statuspage.notify.channels.base import Batch
from statuspage.notify.channels.hooks import HookChannel, Request
from statuspage.notify.channels.notice import Notice, clip, notice
from statuspage.notify.transports import TransportError
from statuspage.outbound import guard
from statuspage.outbound.http import HttpResponse
from statuspage.page.profile import status_title

# GSM 03.38: the basic set (one septet each) and the extension (two); anything else makes a UCS-2 text.
GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENSION = set("^{}\\[~]|€")
SEGMENTS_MAX = 2
# Twilio's error for a number that replied STOP: nothing more may be sent to it.
UNSUBSCRIBED = 21610
CODE_MINUTES = 10


def clean_phone(number: object, country: object = None, field: str = "phone_number") -> tuple[str, str]:
    """(E.164 number, its ISO country) for a number typed for `country` (or with a leading +);
    InvalidInput when it does not parse or cannot be a real number."""
    if not isinstance(number, str) or not number.strip():
        raise InvalidInput("A phone number is required.", field)
    region = country.strip().upper() if isinstance(country, str) and country.strip() else None
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(f"{country!r} is not a country code we know (use two letters, such as US).",
                           "phone_country")
    try:
        parsed = phonenumbers.parse(number.strip()[:40], region)
    except phonenumbers.NumberParseException:
        raise InvalidInput("That is not a phone number (add the country, or start with + and its code).",
                           field) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput("That phone number cannot exist; check the digits and the country.", field)
    found = phonenumbers.region_code_for_number(parsed)
    if found is None or len(found) != 2:  # "001": freephone and other numbers of no country
        raise InvalidInput("That number belongs to no country (a freephone or global service number); "
                           "texts need a mobile number.", field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), found


def masked(e164: str) -> str:
    """A number as a page may show it back without revealing it: +1 ••• 0100."""
    country = phonenumbers.parse(e164).country_code
    return f"+{country} ••• {e164[-4:]}"


def segments(text: str) -> int:
    """How many SMS segments `text` takes: 160/153 GSM-7 septets, or 70/67 UCS-2 units."""
    if all(c in GSM_BASIC or c in GSM_EXTENSION for c in text):
        septets = sum(2 if c in GSM_EXTENSION else 1 for c in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def fit(make: Callable[[str], str], title: str) -> str:
    """`make(title)` with the title cut until the text fits in SEGMENTS_MAX segments."""
    text = make(title)
    cut = len(title)
    while segments(text) > SEGMENTS_MAX and cut > 0:
        cut = max(cut - max(cut // 8, 1), 0)
        text = make(clip(title, cut, "...") if cut else "")
    return text


def sms_text(notice: Notice, stop_url: str) -> str:
    """The text of one message: title, status and a short link, and where to stop, in two segments."""
    if notice.kind == EventKind.CONFIRMATION and notice.code:
        return (f"{notice.code} is your code to confirm {status_title(notice.page_name)} texts. "
                f"It expires in {CODE_MINUTES} minutes.")
    if notice.kind == EventKind.CONFIRMATION:
        return f"Confirm {status_title(notice.page_name)} texts to this number: {notice.url}"
    if notice.kind == EventKind.MANAGE_LINK:
        return f"{status_title(notice.page_name)} texts come to this number. Stop: {stop_url}"
    status = f" - {notice.status}" if notice.status else ""
    return fit(lambda title: f"{notice.page_name}: {title}{status}. {notice.url} Stop: {stop_url}",
               " ".join(notice.title.split()))


class SmsChannel(HookChannel):
    """Texts through the operator's Twilio-compatible account (STATUSPAGE_SMS_*)."""

    mode: ClassVar[SubscriberMode] = SubscriberMode.SMS
    label: ClassVar[str] = "SMS"
    shared_limit: ClassVar[bool] = True

    @classmethod
    def clean_address(cls, value: object, field: str, policy: guard.Policy) -> str:
        return clean_phone(value, None, field)[0]

    def bucket(self, delivery: Delivery) -> str:
        return "sms-account"  # one account, one limit (shared_limit)

    def render(self, batch: Batch, delivery: Delivery) -> Request:
        sms = batch.settings.sms
        if sms is None:
            raise TransportError("SMS is not configured (STATUSPAGE_SMS_PROVIDER is none)")
        subscriber = delivery.subscriber
        assert subscriber is not None  # deliver() fails rows without one
        stop = f"{batch.mail.base_url}/u/{tokens.short(batch.mail.secret_key, subscriber.code, subscriber.token_nonce)}"
        body = urlencode({"To": delivery.address, "From": sms.sender, "Body": sms_text(notice(batch, delivery), stop)})
        auth = base64.b64encode(f"{sms.account_sid}:{sms.auth_token}".encode()).decode()
        return Request(f"{sms.api_url}/2010-04-01/Accounts/{sms.account_sid}/Messages.json", body.encode(), {
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
            "Authorization": f"Basic {auth}", "User-Agent": "statuspage-notifications",
        })

    def failure(self, response: HttpResponse) -> TransportError:
        code, message = _error(response)
        if response.status == 400:
            return TransportError(f"SMS API 400: {code} {message}".strip(), permanent=True, gone=code == UNSUBSCRIBED)
        if response.status in (401, 403, 404):
            return TransportError(f"SMS API {response.status}: check STATUSPAGE_SMS_ACCOUNT_SID, _AUTH_TOKEN and "
                                  "_API_URL")
        return TransportError(f"SMS API {response.status}")


def _error(response: HttpResponse) -> tuple[int | None, str]:
    """Twilio's error `code` and `message` from a JSON error body, when there is one."""
    try:
        body = json.loads(response.body or b"{}")
    except ValueError:
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    code = body.get("code")
    return (code if isinstance(code, int) else None), str(body.get("message") or "")[:200]
