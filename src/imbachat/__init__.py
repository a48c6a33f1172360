"""imbachat: a self-hostable chat server that speaks the ImbaChat API.

The layout, the one write path (a unit of work emitting typed events) and where a
new event goes are described in ``docs/architecture.md``.
"""

__version__ = "0.1.0"
