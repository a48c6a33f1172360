"""Calls from imbachat to the outside: the host site, and later bots' webhooks."""
