"""The demo widget and its host site, for ``imbachat demo``."""
