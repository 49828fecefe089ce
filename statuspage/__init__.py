"""statuspage: a self-hosted status page. create_app() wires config, extensions, blueprints and CLI."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from statuspage.config import ROOT, Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app; nothing touches the database here."""
    from statuspage import cli
    from statuspage.api import push, ratelimit, v1, v1_incidents, v1_postmortems, v1_probes, v1_subscribers, v2
    from statuspage.api.openapi import bp as openapi_bp
    from statuspage.db import Database
    from statuspage.edge import errors, session
    from statuspage.edge.extensions import csrf, limiter, login_manager
    from statuspage.edge.public_cache import FastPath, PublicCache
    from statuspage.web import (
        admin,
        admin_incidents,
        admin_postmortems,
        admin_probes,
        admin_subscribers,
        auth,
        embeds,
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
        WTF_CSRF_TIME_LIMIT=None,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_url,
        RATELIMIT_HEADERS_ENABLED=True,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )

    database = Database()
    database.configure(settings.database_url)
    session.init_app(app, database)
    public_cache = PublicCache(settings.version_check_seconds, settings.public_max_age,
                               settings.public_stale_while_revalidate)
    app.extensions["statuspage.public_cache"] = public_cache
    app.wsgi_app = FastPath(app.wsgi_app, public_cache)
    if settings.trusted_proxies:  # the client's address and scheme as the proxies in front saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)

    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    templating.init_app(app)
    errors.init_app(app)

    app.register_blueprint(public.bp)
    app.register_blueprint(embeds.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(subscriptions.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin_incidents.bp)
    app.register_blueprint(admin_postmortems.bp)
    app.register_blueprint(admin_probes.bp)
    app.register_blueprint(admin_subscribers.bp)
    app.register_blueprint(v2.bp)
    app.register_blueprint(v1.bp)
    app.register_blueprint(v1_incidents.bp)
    app.register_blueprint(v1_subscribers.bp)
    app.register_blueprint(v1_postmortems.bp)
    app.register_blueprint(v1_probes.bp)
    app.register_blueprint(push.bp)
    app.register_blueprint(openapi_bp)
    ratelimit.limit([v1.bp, v1_incidents.bp, v1_subscribers.bp, v1_postmortems.bp, v1_probes.bp])
    cli.init_app(app)
    return app
