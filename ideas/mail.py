"""Outgoing mail: one recipient per message, text and HTML bodies from Jinja
templates, sent through `SMTP_URL` or written to a file outbox.

Templates live in `ideas/mail_templates/`; a directory named by
`TOUCHPOINT_MAIL_TEMPLATES` overrides any of them by file name.
`SMTP_URL` is `smtp://[user:pass@]host:port` (STARTTLS when the server offers
it) or `smtps://…` (TLS from the first byte). Without it, every message is
written to `<data dir>/outbox-mail/` as an `.eml` file: never dropped.
Errors are split into `MailTemporaryError` (try again later: server down,
4xx) and `MailPermanentError` (this message will never go: a broken
template, a refused recipient).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import os
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape

from ideas.config import Settings, get_settings

TEMPLATES = Path(__file__).resolve().parent / "mail_templates"

#: a whole SMTP conversation ends within this, so a hung server costs a mail
#: job less than its job timeout and the job retries with backoff
SEND_DEADLINE_CAP_S = 15.0


def send_deadline_s() -> float:
    return min(get_settings().smtp_timeout, SEND_DEADLINE_CAP_S)


class MailError(Exception):
    """A message was not handed over."""


class MailTemporaryError(MailError):
    """Worth trying again later (server down or busy, a 4xx answer)."""


class MailPermanentError(MailError):
    """Will never go as it is (a template error, a refused recipient)."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str
    #: stable per (event, recipient): a re-send is recognisably the same mail
    message_id: str
    #: one-click unsubscribe (RFC 8058) from this kind of mail; "" for none
    unsubscribe_url: str = ""
    #: the `Date:` header: when the notice was made (None: now)
    date: dt.datetime | None = None


_environment: Environment | None = None


def environment() -> Environment:
    """The Jinja environment of the mail templates (HTML autoescaped; an
    undefined variable is an error, not an empty string)."""
    global _environment
    if _environment is None:
        folders = [TEMPLATES]
        custom = get_settings().mail_templates
        if custom:
            folders.insert(0, custom)
        _environment = Environment(
            loader=FileSystemLoader(folders),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    return _environment


def render(names: list[str], context: dict[str, Any]) -> tuple[str, str]:
    """Text and HTML bodies from the first template of `names` that exists
    (`<name>.txt` and `<name>.html`). Any template error is permanent."""
    env = environment()
    try:
        text = env.select_template([f"{n}.txt" for n in names]).render(**context)
        html = env.select_template([f"{n}.html" for n in names]).render(**context)
    except TemplateError as exc:
        raise MailPermanentError(f"template error: {type(exc).__name__}: {exc}") from exc
    return text, html


def sender_domain(settings: Settings) -> str:
    address = parseaddr(settings.mail_from)[1]
    return address.rpartition("@")[2] or "localhost"


def message_id_for(key: str, settings: Settings | None = None) -> str:
    """A Message-ID derived from a delivery key such as "event:42:user:<id>":
    keyed with SECRET_KEY, so that whoever reads mail logs cannot recompute it
    from guessed event and user ids and learn which event a mail is about."""
    settings = settings or get_settings()
    digest = hmac.new(settings.secret_key.encode(), key.encode(), hashlib.sha256).hexdigest()[:40]
    return f"<tp.{digest}@{sender_domain(settings)}>"


def build_message(mail: Mail, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id
    message["Date"] = formatdate(mail.date.timestamp() if mail.date else None, usegmt=True)
    message["Auto-Submitted"] = "auto-generated"
    if mail.unsubscribe_url:
        # RFC 2369 + RFC 8058: the mail client's "Unsubscribe" switches this kind off
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


async def send(mail: Mail, settings: Settings | None = None) -> str:
    """Hand one message over: to the SMTP server, or to the file outbox.
    Returns where it went ("smtp" or the file's path)."""
    settings = settings or get_settings()
    if "," in mail.to or ";" in mail.to:
        raise MailPermanentError("one recipient per message")
    message = build_message(mail, settings)
    if settings.smtp_url:
        await _send_smtp(message, settings.smtp_url)
        return "smtp"
    return str(await asyncio.to_thread(_write_file, message, mail, settings))


def outbox_dir(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return settings.data_dir / "outbox-mail"


def _write_file(message: EmailMessage, mail: Mail, settings: Settings) -> Path:
    """Write the message as an .eml file named after its Message-ID; a
    re-send adds a numbered copy (`<name>-2.eml`), so the outbox shows every
    send, as a mail server's log would."""
    folder = outbox_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    stem = hashlib.sha256(mail.message_id.encode()).hexdigest()[:32]
    tmp = folder / f".{stem}.{os.getpid()}.tmp"
    tmp.write_bytes(bytes(message))
    copy = 1
    while True:
        path = folder / (f"{stem}.eml" if copy == 1 else f"{stem}-{copy}.eml")
        try:
            os.link(tmp, path)  # fails if the name is taken: never overwrites
        except FileExistsError:
            copy += 1
            continue
        tmp.unlink()
        return path


def _smtp_options(url: str) -> dict[str, Any]:
    parsed = urlparse(url)
    tls = parsed.scheme == "smtps"
    options: dict[str, Any] = {
        "hostname": parsed.hostname,
        "port": parsed.port or (465 if tls else 25),
        "use_tls": tls,
        "start_tls": False if tls else None,
        "timeout": get_settings().smtp_timeout,
    }
    if parsed.username:
        options["username"] = unquote(parsed.username)
        options["password"] = unquote(parsed.password or "")
    return options


async def _send_smtp(message: EmailMessage, url: str) -> None:
    try:
        async with asyncio.timeout(send_deadline_s()):
            await aiosmtplib.send(message, **_smtp_options(url))
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [err.code for err in exc.recipients]
        if codes and all(400 <= c < 500 for c in codes):
            raise MailTemporaryError(f"recipient deferred: {exc}") from exc
        raise MailPermanentError(f"recipient refused: {exc}") from exc
    except aiosmtplib.SMTPAuthenticationError as exc:
        # the server's configuration, not the message: keep it for later
        raise MailTemporaryError(f"SMTP authentication failed: {exc.code}") from exc
    except aiosmtplib.SMTPResponseException as exc:
        if 400 <= exc.code < 500:
            raise MailTemporaryError(f"SMTP {exc.code}: {exc.message}") from exc
        raise MailPermanentError(f"SMTP {exc.code}: {exc.message}") from exc
    except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
        raise MailTemporaryError(f"SMTP unavailable: {type(exc).__name__}: {exc}") from exc
