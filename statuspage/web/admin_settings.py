"""The Settings page (admins): the page's name, look and voice, validated and audited by page.settings."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from statuspage.audit import Actor
from statuspage.edge.page import current_page
from statuspage.edge.session import db_session
from statuspage.errors import DomainError
from statuspage.page import settings
from statuspage.web.auth import admin_required
from statuspage.web.forms import domain_form, refusal
from statuspage.web.page_assets import asset_urls

bp = Blueprint("admin_settings", __name__, url_prefix="/admin")
ZONES = sorted(available_timezones())


def _render(status: int = 200, **context: object) -> ResponseReturnValue:
    return render_template("admin/settings.html", page=current_page(), zones=ZONES,
                           refresh_choices=settings.REFRESH_CHOICES, images=asset_urls(),
                           **{"form": None, **context}), status


def _refused(exc: DomainError, **_args: object) -> ResponseReturnValue:
    return _render(exc.status_code, **refusal(exc))


@bp.get("/settings")
@admin_required
def settings_form() -> ResponseReturnValue:
    return _render()


def _upload(kind: str) -> settings.Upload | None:
    file = request.files.get(kind)
    if file is None or not file.filename:
        return None
    return settings.Upload(file.read(settings.MAX_BYTES[kind] + 1), file.filename)


@bp.post("/settings")
@admin_required
@domain_form(_refused)
def save_settings() -> ResponseReturnValue:
    fields = {key: request.form.get(key, "") for key in settings.SETTINGS_FIELDS}
    changed = settings.update_settings(
        db_session(), Actor.for_user(current_user, "admin"), current_page(), fields,
        {kind: _upload(kind) for kind in settings.ASSET_KINDS},
        remove=frozenset(kind for kind in settings.ASSET_KINDS if request.form.get(f"remove_{kind}")))
    db_session().commit()
    flash(f"Saved: {', '.join(name.replace('_', ' ') for name in changed)}." if changed else "Nothing changed.")
    return redirect(url_for("admin_settings.settings_form"))
