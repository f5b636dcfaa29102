"""Email: the one SMTP path (:mod:`.smtp`), claiming what to send (:mod:`.outbox`), the mail context and
email templates (:mod:`.context`, and :mod:`.app` for the running app's), queueing and delivering plain
emails (:mod:`.notices`) and email settings (:mod:`.views`). The emails' words belong to their domains."""

from .context import Context, Email, mail_context, render
from .smtp import MailError, MailSettings, mailer

__all__ = ["Context", "Email", "MailError", "MailSettings", "mail_context", "mailer", "render"]
