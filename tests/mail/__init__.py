"""Plan emails and the email templates."""
