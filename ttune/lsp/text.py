"""Byte offsets of a document's UTF-8 text and LSP positions (line, character in the client's
code units: UTF-16 unless the client negotiated another encoding) converted both ways."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable


def utf16_units(s: str) -> int:
    """Length of ``s`` in UTF-16 code units (the LSP default position encoding)."""
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)


class LineIndex:
    """Positions of one text. ``units`` measures a string in the client's code units."""

    def __init__(self, text: str, units: Callable[[str], int] = utf16_units) -> None:
        self.data = text.encode("utf-8")
        self.units = units
        self.starts = [0] + [i + 1 for i, b in enumerate(self.data) if b == 0x0A]

    def position(self, offset: int) -> dict:
        """The LSP position of byte ``offset``."""
        offset = max(0, min(offset, len(self.data)))
        line = bisect_right(self.starts, offset) - 1
        prefix = self.data[self.starts[line] : offset].decode("utf-8", errors="replace")
        return {"line": line, "character": self.units(prefix)}

    def range(self, start: int, end: int) -> dict:
        """The LSP range of bytes ``start:end``."""
        return {"start": self.position(start), "end": self.position(end)}

    def offset(self, line: int, character: int) -> int:
        """The byte offset of an LSP position (clamped to the line's end and the text's end)."""
        if line >= len(self.starts):
            return len(self.data)
        start = self.starts[line]
        end = self.starts[line + 1] - 1 if line + 1 < len(self.starts) else len(self.data)
        text = self.data[start:end].decode("utf-8", errors="replace").rstrip("\r")
        count, used = 0, 0
        for c in text:
            if count >= character:
                break
            count += self.units(c)
            used += len(c.encode("utf-8"))
        return start + used
