"""How a message leaves: an SMTP server, or ``.eml`` files under REVIEW_HOME.

A transport sends ONE message ONCE and says how it went, by returning (the
server accepted it) or by raising one of three exceptions the ledger acts on:

* :class:`NotAccepted` - the server certainly did not take the message
  (connection refused, a 4xx reply, a time-out or a drop before the end of
  the data was sent): safe to retry later.
* :class:`Refused` - a permanent refusal (5xx, bad credentials, TLS not
  offered): retrying will not help.
* :class:`OutcomeUnknown` - the whole message, final dot included, went out
  but no reply came back: it may have been delivered, so it is never retried
  automatically.

The SMTP dialogue is driven step by step with :mod:`smtplib` (MAIL, RCPT,
DATA, then the payload, then the final reply) instead of
``SMTP.send_message`` or the Airflow provider's ``send_email_smtp``: only
this way can a drop *before* the end of the data (retry) be told apart from
a drop *after* it (unknown). The provider's helper also re-sends on a
disconnect, which duplicates mail (docs/delivery.md).
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from review_pipeline.delivery.message import MESSAGE_POLICY

if TYPE_CHECKING:
    from review_pipeline.settings import Settings

log = logging.getLogger(__name__)


class DeliveryFault(Exception):
    """Base of the three outcomes other than "accepted"."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class NotAccepted(DeliveryFault):
    """The server did not accept the message; it is safe to try again later."""


class Refused(DeliveryFault):
    """The server refused the message for good (5xx) or the configuration is wrong."""


class OutcomeUnknown(DeliveryFault):
    """The message was transmitted but the server's answer never came: maybe delivered."""


class Transport(Protocol):
    """Sends one message once; see the module docstring for the outcomes."""

    def describe(self) -> str:
        """What and where, for logs."""
        ...

    def send(self, msg: EmailMessage, recipients: list[str], *, period: str, stem: str) -> str:
        """Send ``msg`` to ``recipients``; returns the server's acceptance text."""
        ...

    def close(self) -> None:
        """Release the connection, if any."""
        ...


def _reply_text(resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return " ".join(text.split())[:300]


def _by_code(code: int, resp: bytes | str, when: str) -> DeliveryFault:
    text = f"{when}: server replied {code} {_reply_text(resp)}"
    if 400 <= code < 500:
        return NotAccepted(text, code)
    if code >= 500:
        return Refused(text, code)
    return NotAccepted(text, code)


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes on the wire (CRLF line ends, 7-bit safe)."""
    return msg.as_bytes(policy=MESSAGE_POLICY)


_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


def wire_payload(msg: EmailMessage) -> bytes:
    """The DATA payload: CRLF line ends, leading dots doubled (RFC 5321 4.5.2), final dot."""
    data = _LEADING_DOT.sub(b"..", _LINE_ENDS.sub(b"\r\n", message_bytes(msg)))
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


class SmtpTransport:
    """One SMTP connection, opened on first use and reused until something goes wrong."""

    def __init__(self, settings: Settings) -> None:
        self.smtp = settings.smtp
        self._client: smtplib.SMTP | None = None

    def describe(self) -> str:
        """``smtp host:port (security)`` for logs (never the user or password)."""
        return f"smtp {self.smtp.host}:{self.smtp.port} ({self.smtp.security})"

    # ----------------------------------------------------------------- connection
    def _context(self) -> ssl.SSLContext:
        # the system's trust store (SSL_CERT_FILE / SSL_CERT_DIR honoured)
        return ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        s = self.smtp
        where = f"{s.host}:{s.port}"
        client: smtplib.SMTP | None = None
        try:
            if s.security == "ssl":
                client = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout_seconds, context=self._context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            client.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                client.starttls(context=self._context())
                client.ehlo()
            if s.user:
                if s.security == "none":
                    log.warning("logging in to %s as %s over an unencrypted connection "
                                "(smtp.security=none)", where, s.user)  # fmt: skip
                password = s.password.get_secret_value() if s.password else ""
                client.login(s.user, password)
        except smtplib.SMTPAuthenticationError as exc:
            self._abandon(client)
            raise Refused(
                f"{where}: login as {s.user!r} refused ({exc.smtp_code}); check the "
                "review_smtp connection or REVIEW_SMTP__USER / REVIEW_SMTP__PASSWORD",
                exc.smtp_code,
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            self._abandon(client)
            raise Refused(f"{where}: {exc} (smtp.security={s.security})") from None
        except smtplib.SMTPResponseException as exc:
            self._abandon(client)
            raise _by_code(exc.smtp_code, exc.smtp_error, f"{where} while connecting") from None
        except ssl.SSLCertVerificationError as exc:
            self._abandon(client)
            raise Refused(f"{where}: TLS certificate not trusted: {exc.verify_message}") from None
        except (OSError, smtplib.SMTPException) as exc:
            self._abandon(client)
            raise NotAccepted(f"{where}: cannot connect: {exc}") from None
        log.debug("connected to %s (%s)", where, s.security)
        return client

    @staticmethod
    def _abandon(client: smtplib.SMTP | None) -> None:
        if client is None:
            return
        try:
            client.close()
        except OSError:
            pass

    def _drop(self) -> None:
        self._abandon(self._client)
        self._client = None

    def close(self) -> None:
        """Say QUIT politely; errors here change nothing (every message is recorded)."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            self._abandon(client)

    # ----------------------------------------------------------------------- send
    def send(self, msg: EmailMessage, recipients: list[str], *, period: str, stem: str) -> str:
        """Send once. See the module docstring for what each exception means."""
        where = f"{self.smtp.host}:{self.smtp.port}"
        if self._client is None:
            self._client = self._connect()
        client = self._client
        sender = self.smtp.sender
        try:
            code, resp = client.mail(_envelope(sender))
            if code != 250:
                raise _by_code(code, resp, f"{where} MAIL FROM")
            refused: list[str] = []
            last: tuple[int, bytes] = (0, b"")
            for rcpt in recipients:
                code, resp = client.rcpt(rcpt)
                if code not in (250, 251):
                    refused.append(rcpt)
                    last = (code, resp)
            if len(refused) == len(recipients):
                raise _by_code(last[0], last[1], f"{where} RCPT TO")
            code, resp = client.docmd("data")
            if code != 354:
                raise _by_code(code, resp, f"{where} DATA")
        except DeliveryFault:
            self._reset_or_drop()
            raise
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise NotAccepted(
                f"{where}: connection lost before the message was sent: {exc}"
            ) from None
        payload = wire_payload(msg)
        try:
            client.send(payload)
        except (OSError, smtplib.SMTPException) as exc:
            # the final "." never left, so the server cannot have accepted the message
            self._drop()
            raise NotAccepted(f"{where}: connection lost while transmitting: {exc}") from None
        try:
            code, resp = client.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise OutcomeUnknown(
                f"{where}: the message was transmitted but no reply came ({exc}); "
                "it may have been delivered"
            ) from None
        if code != 250:
            fault = _by_code(code, resp, f"{where} after the data")
            self._reset_or_drop()
            raise fault
        if refused:
            log.warning("%s refused %d of %d recipients: %s", where, len(refused), len(recipients),
                        ", ".join(refused))  # fmt: skip
        return _reply_text(resp)

    def _reset_or_drop(self) -> None:
        if self._client is None:
            return
        try:
            self._client.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()


def _envelope(sender: str) -> str:
    from email.utils import parseaddr

    return parseaddr(sender)[1] or sender


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(text: str) -> str:
    """A file-name fragment safe on every operating system."""
    cleaned = _SAFE.sub("_", text).strip("._")
    return cleaned[:80] or "x"


class FileTransport:
    """Writes each message as ``REVIEW_HOME/outbox/<period>/<stem>.eml`` (the embedded default).

    The file appears whole or not at all: it is written to a temporary file in
    the same folder, flushed to disk, then renamed over the final name.
    """

    def __init__(self, settings: Settings) -> None:
        self.root = settings.home / "outbox"

    def describe(self) -> str:
        """``file <folder>`` for logs."""
        return f"file {self.root}"

    def path_for(self, period: str, stem: str) -> Path:
        """Where the message of ``stem`` for ``period`` is written."""
        return self.root / safe_name(period) / f"{safe_name(stem)}.eml"

    def send(self, msg: EmailMessage, recipients: list[str], *, period: str, stem: str) -> str:
        """Write the message atomically; a write error is 'not accepted' (retried)."""
        target = self.path_for(period, stem)
        data = message_bytes(msg)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".eml", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise NotAccepted(f"cannot write {target}: {exc.strerror or exc}") from None
        return f"written {target}"

    def close(self) -> None:
        """Nothing to close."""
        return None


def make_transport(settings: Settings) -> Transport:
    """The transport ``settings.smtp.transport`` names."""
    if settings.smtp.transport == "smtp":
        return SmtpTransport(settings)
    return FileTransport(settings)
