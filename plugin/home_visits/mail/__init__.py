"""Email: the one SMTP path (:mod:`.smtp`), claiming what to send (:mod:`.outbox`), the mail context and
email templates (:mod:`.context`), plan emails (:mod:`.notices`) and email settings (:mod:`.views`)."""

from .context import Context, Email, mail_context, render
from .smtp import MailError, MailSettings, mailer

__all__ = ["Context", "Email", "MailError", "MailSettings", "mail_context", "mailer", "render"]
