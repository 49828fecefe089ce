"""Mail transports behind one verb, `send()`, and one typed error.

`smtp` keeps one connection open for a whole batch; `file` writes one
`.eml` per message (the embedded default); `console` prints them.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import sys
import time
from abc import ABC, abstractmethod
from datetime import timedelta
from pathlib import Path

from statuspage.config import Settings
from statuspage.notify.emails import OutgoingMail


class TransportError(Exception):
    """A message was not accepted; `permanent` means retrying will not help.

    `retry_after` is the wait a service asked for (a 429): the message is tried again then,
    not after the usual backoff. `gone` means the address no longer exists (a chat webhook
    answering 404 or 410), so its subscriber is removed.
    """

    def __init__(self, message: str, permanent: bool = False, *, retry_after: timedelta | None = None,
                 gone: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent or gone
        self.retry_after = retry_after
        self.gone = gone


class MailTransport(ABC):
    """Send messages; `open`/`close` bracket a batch."""

    def open(self) -> None:  # noqa: B027  (optional: most transports need no connection)
        """Prepare for a batch (connect)."""

    @abstractmethod
    def send(self, mail: OutgoingMail) -> None:
        """Hand one message over; raises TransportError when it was not accepted."""

    def close(self) -> None:  # noqa: B027  (optional, as open)
        """Finish a batch (disconnect)."""


class FileTransport(MailTransport):
    """One `.eml` file per message in a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, mail: OutgoingMail) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{abs(hash(mail.message_id)) % 10**8}.eml"
        (self.folder / name).write_bytes(mail.data)


class ConsoleTransport(MailTransport):
    """Print messages, for development."""

    def send(self, mail: OutgoingMail) -> None:
        sys.stdout.write(mail.data.decode("ascii", errors="replace") + "\n" + "-" * 72 + "\n")
        sys.stdout.flush()


def _smtp_error(code: int, text: str) -> TransportError:
    return TransportError(f"SMTP {code}: {text}", permanent=500 <= code < 600)


class SmtpTransport(MailTransport):
    """An SMTP relay; one connection for the whole batch, reopened if it drops."""

    def __init__(self, settings: Settings, timeout: float = 30.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self.connection: smtplib.SMTP | None = None

    def open(self) -> None:
        settings = self.settings
        context = ssl.create_default_context()
        try:
            if settings.smtp_security == "tls":
                connection: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port,
                                                            timeout=self.timeout, context=context)
            else:
                connection = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=self.timeout)
                if settings.smtp_security == "starttls":
                    connection.starttls(context=context)
            if settings.smtp_username:
                connection.login(settings.smtp_username, settings.smtp_password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportError(f"SMTP login refused: {exc.smtp_code}", permanent=False) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransportError(f"cannot connect to SMTP {settings.smtp_host}:{settings.smtp_port}: {exc}") from exc
        self.connection = connection

    def send(self, mail: OutgoingMail) -> None:
        if self.connection is None:
            self.open()
        assert self.connection is not None
        try:
            refused = self.connection.sendmail(mail.sender, [mail.recipient], mail.data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise _smtp_error(code, text.decode(errors="replace") if isinstance(text, bytes) else str(text)) from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:  # the server is closing the connection
                self._drop()
            reason = (exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes)
                      else str(exc.smtp_error))
            raise _smtp_error(exc.smtp_code, reason) from exc
        except (UnicodeError, smtplib.SMTPNotSupportedError) as exc:
            # An address that needs SMTPUTF8: no retry helps. The server may be mid-transaction
            # (MAIL FROM accepted, RCPT never sent), so the next message starts on a new connection.
            self._drop()
            raise TransportError(f"the address needs SMTPUTF8, which is not supported: {exc}",
                                 permanent=True) from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise TransportError(f"connection lost: {exc}") from exc
        if refused:
            code, text = next(iter(refused.values()))
            raise _smtp_error(code, str(text))

    def _drop(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(OSError):
                self.connection.close()
        self.connection = None

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.connection.quit()
        self._drop()


def make_transport(settings: Settings) -> MailTransport:
    """The transport STATUSPAGE_MAIL_BACKEND names."""
    if settings.mail_backend == "smtp":
        return SmtpTransport(settings)
    if settings.mail_backend == "console":
        return ConsoleTransport()
    return FileTransport(settings.instance_dir / "mail")
