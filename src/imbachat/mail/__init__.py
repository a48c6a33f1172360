"""E-mail to people who are away: the digest (``digest``) and the SMTP client that
sends it (``sender``)."""
