"""The per-request database session, opened lazily so cache hits never touch the database."""

from __future__ import annotations

from flask import Flask, current_app, g
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy.orm import Session

from statuspage.db import Database


def database() -> Database:
    """The Database bound to the current app."""
    return current_app.extensions["statuspage.db"]


def db_session() -> Session:
    """This request's session, created on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = database().session()
    return g.db_session


class PublicAwareSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions that stay out of public responses.

    flask-login touches the session after every request, and Flask then adds
    `Vary: Cookie`, which stops shared caches (CDNs) from caching the public
    page. A public response (marked by `cached_public`) never reads nor sets
    the session, so it leaves it alone.
    """

    def save_session(self, app, session, response) -> None:
        if g.get("public_response"):
            return
        super().save_session(app, session, response)


def init_app(app: Flask, db: Database) -> None:
    """Attach the database to the app and close sessions after each request."""
    app.extensions["statuspage.db"] = db
    app.session_interface = PublicAwareSessionInterface()

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()
