"""The page profile: its request body and its operations.

`update_profile` (page/profile.py) checks every field in the order sent, against the page and the
base URL (a field we do not offer may be sent back unchanged), so the fields here are declared for
the document and the field set, and passed to it as sent.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from pydantic import Field

from statuspage.api.schemas.base import UNSET, Body, Wrapped, checked_in_domain, table_model
from statuspage.api.schemas.operations import Operation, Section, patch_and_put
from statuspage.models import NAME_MAX
from statuspage.page import profile
from statuspage.shapes import PageProfileJson

OptionalEmail = Annotated[Any, checked_in_domain(Annotated[str | None, Field(json_schema_extra={"format": "email"})])]
Switch = Annotated[Any, checked_in_domain(bool)]


class _PageFields(Body):
    name: Annotated[Any, checked_in_domain(Annotated[str, Field(min_length=1, max_length=NAME_MAX, pattern=r"\S")]),
                    Field(description=f"Trimmed; at most {NAME_MAX} characters and not blank.")] = UNSET
    url: Annotated[Any, checked_in_domain(Annotated[str | None, Field(max_length=NAME_MAX, pattern="^(https?://|$)")]),
                   Field(description="The public page's address, http(s); null or empty to use "
                                     "`STATUSPAGE_BASE_URL`.")] = UNSET
    time_zone: Annotated[Any, checked_in_domain(Annotated[str, Field(min_length=1, max_length=64)]),
                         Field(description="An IANA time zone name, e.g. `Europe/Berlin`.")] = UNSET
    allow_page_subscribers: Switch = UNSET
    allow_incident_subscribers: Switch = UNSET
    allow_email_subscribers: Switch = UNSET
    allow_rss_atom_feeds: Switch = UNSET
    allow_webhook_subscribers: Switch = UNSET
    allow_sms_subscribers: Annotated[Any, checked_in_domain(bool), Field(
        description="Follows the server's SMS settings (STATUSPAGE_SMS_PROVIDER): the value GET shows, "
                    "else 422.")] = UNSET
    notifications_from_email: Annotated[OptionalEmail, Field(
        description="The sender of notification mail; null or empty for `STATUSPAGE_MAIL_FROM`.")] = UNSET
    notifications_email_footer: Annotated[Any, checked_in_domain(Annotated[str | None, Field(max_length=2000)])
                                          ] = UNSET
    owner_email: Annotated[OptionalEmail, Field(description="Null or empty for none.")] = UNSET


_SENT_BACK = ("Read-only: accepted (a tool may send the whole page object back) and ignored; `id` must be the "
              "page's own.")

# What GET shows may be sent back: the read-only fields, and Statuspage's fields we do not offer while they
# keep their value (profile.FIXED_BECAUSE says why each is fixed).
_SENT_BACK_FIELDS: dict[str, Any] = {
    **{name: (Annotated[Any, checked_in_domain(Any)], Field(UNSET, description=_SENT_BACK))
       for name in sorted(profile.READ_ONLY)},
    **{name: (Annotated[Any, checked_in_domain(Any)], Field(UNSET, description=(
        f"Not offered ({reason}): accepted when it keeps the value GET shows (colours in any hex spelling), "
        "422 naming the reason otherwise.")))
       for name, reason in profile.FIXED_BECAUSE.items()},
}
PageUpdate = table_model("PageUpdate", __name__, _SENT_BACK_FIELDS, base=_PageFields,
                         doc="Any of the page's fields; those left out keep their value.")

PAGE_UPDATE = Wrapped("page", cast(type[Body], PageUpdate))

_UPDATE_NOTE = ("Admins only. Every field is checked before any is written. A new time zone applies to every time "
                "shown from then on. The whole object GET returns may be sent back: fields we do not offer "
                "(`domain`, `css_*` ...) are accepted unchanged and refused (422, with the reason) when they would "
                "change.")

PAGES = Section(
    "Pages", "The one status page this installation serves: its profile and subscriber switches.",
    (
        Operation("get", "/pages", "listPages", "List pages", (200, "A list holding the one page."),
                  list[PageProfileJson], (401, 429),
                  description="Any valid key may call it; the `id` is the `page_id` to use."),
        Operation("get", "/pages/{page_id}", "getPage", "Get the page profile", (200, "The page."),
                  PageProfileJson, (401, 404, 429)),
        *patch_and_put(Operation("patch", "/pages/{page_id}", "updatePage", "Update the page profile",
                                 (200, "The page after the change."), PageProfileJson,
                                 (400, 401, 403, 404, 413, 415, 422, 429), body=PAGE_UPDATE, description=_UPDATE_NOTE,
                                 example={"page": {"name": "Acme Cloud", "time_zone": "America/New_York"}}),
                       "replacePage"),
    ),
)
