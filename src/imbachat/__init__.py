"""imbachat: a self-hostable chat server that speaks the ImbaChat API."""

__version__ = "0.1.0"
