"""statuspage: a self-hosted status page. create_app() wires config, extensions, blueprints and CLI."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from statuspage.config import ROOT, Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app; nothing touches the database here."""
    from statuspage import cli
    from statuspage.api import (
        push,
        ratelimit,
        v1,
        v1_alert_channels,
        v1_incidents,
        v1_postmortems,
        v1_probes,
        v1_subscribers,
        v2,
    )
    from statuspage.api.openapi import bp as openapi_bp
    from statuspage.db import Database
    from statuspage.edge import errors, session
    from statuspage.edge.extensions import csrf, limiter, login_manager
    from statuspage.edge.headers import SecurityHeaders, security_headers
    from statuspage.edge.public_cache import FastPath, PublicCache
    from statuspage.edge.snapshot_disk import SnapshotDisk
    from statuspage.web import (
        admin,
        admin_alerts,
        admin_incidents,
        admin_postmortems,
        admin_probes,
        admin_settings,
        admin_subscribers,
        admin_users,
        auth,
        embeds,
        page_assets,
        public,
        subscriptions,
        templating,
    )

    settings = settings or Settings.from_env()
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(settings.instance_dir),
        instance_relative_config=False,
    )
    app.config.update(
        STATUSPAGE=settings,
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.cookie_secure,
        # The cookie's signature carries its time: a copy unused for this long no longer opens anything.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_idle_hours),
        SESSION_REFRESH_EACH_REQUEST=True,
        WTF_CSRF_TIME_LIMIT=None,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_url,
        RATELIMIT_HEADERS_ENABLED=True,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )

    database = Database()
    database.configure(settings.database_url)
    session.init_app(app, database)
    public_cache = PublicCache(settings.version_check_seconds, settings.public_max_age,
                               settings.public_stale_while_revalidate,
                               disk=SnapshotDisk(settings.instance_dir / "snapshot"), database=database)
    app.extensions["statuspage.public_cache"] = public_cache
    # Flask's documented way to add WSGI middleware, which mypy reads as replacing a method.
    https = settings.base_url.startswith("https://")
    app.wsgi_app = SecurityHeaders(app.wsgi_app, settings.frame_ancestors, https)  # type: ignore[method-assign]
    app.wsgi_app = FastPath(  # type: ignore[method-assign]
        app.wsgi_app, public_cache, partial(security_headers, frame_ancestors=settings.frame_ancestors, https=https))
    if settings.trusted_proxies:  # the client's address and scheme as the proxies in front saw them
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)

    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    templating.init_app(app)
    errors.init_app(app)

    management_api = [v1.bp, v1_incidents.bp, v1_subscribers.bp, v1_postmortems.bp, v1_probes.bp,
                      v1_alert_channels.bp]
    site = [public.bp, embeds.bp, auth.bp, subscriptions.bp, admin.bp, admin_incidents.bp, admin_postmortems.bp,
            admin_probes.bp, admin_alerts.bp, admin_subscribers.bp, admin_users.bp, admin_settings.bp,
            page_assets.bp]
    for blueprint in [*site, v2.bp, *management_api, push.bp, openapi_bp]:
        app.register_blueprint(blueprint)
    ratelimit.limit(management_api)
    cli.init_app(app)
    return app
