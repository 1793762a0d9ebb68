"""Peer text made safe for a terminal or a log line: the one escaping helper of the client library.

Everything IP Office (or whatever answers in its place) sends as text is the peer's: a RequestResponse's
``additional``, a SubscribeTerminated's ``reason``, names, versions, the websocket subprotocol it chose. Printed as
it is, a control character can clear a terminal, set its window title, move the cursor, or start a new line that
looks like one of the probe's own JSON lines; a bidi override can make a line read backwards. :func:`printable`
writes every such character as a Python escape before the text reaches a log line, an error message or the probe's
output, and cuts text too long for one line.
"""

from __future__ import annotations

from typing import Final

PEER_TEXT_MAX: Final = 256
"""Characters of one piece of peer text kept in a message (the rest is cut, its length said)."""


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: object, limit: int | None = PEER_TEXT_MAX) -> str:
    """``text`` (``str()`` of it) with each character that is not printable written as a Python escape.

    Not printable (Python's ``str.isprintable``): C0 and C1 controls (ESC, CSI, BEL, new lines, tabs), format
    characters (bidi overrides and isolates, zero-width joiners), separators other than the space, surrogates and
    unassigned code points. Text longer than ``limit`` characters (None: no limit) is cut there, with
    ``...(N characters)`` saying how long it was.
    """
    value = text if isinstance(text, str) else str(text)
    tail = ""
    if limit is not None and len(value) > limit:
        tail = f"...({len(value)} characters)"
        value = value[:limit]
    if not value.isprintable():
        value = "".join(char if char.isprintable() else _escape(char) for char in value)
    return value + tail
