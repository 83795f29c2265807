"""ASCII punctuation and Discord markdown: what becomes a break token, a space or nothing."""

from __future__ import annotations

BREAK = "."
SOFT_BREAK = ","

_SENTENCE = ".!?;:\n\r\t\v\f"
_SPACE = "`*_~|>#\"()[]{}<>/\\-+=&^%$@"
ASCII_TABLE: dict[int, str | None] = {c: None for c in range(32)}  # control chars
ASCII_TABLE.update({ord(c): f" {BREAK} " for c in _SENTENCE})
ASCII_TABLE.update({ord(c): " " for c in _SPACE})
ASCII_TABLE[ord(",")] = f" {SOFT_BREAK} "
ASCII_TABLE[ord("'")] = None
ASCII_TABLE[0x7F] = None

# Byte-level version of ASCII_TABLE: bytes.translate is one C loop. Sentence punctuation
# becomes "." and is padded afterwards with two replace() calls. Bytes 128-255 (parts of
# UTF-8 sequences) are left alone.
BYTES_TABLE = bytearray(range(256))
BYTES_DELETE = bytearray()
for _c in range(128):
    _v = ASCII_TABLE.get(_c, chr(_c))
    if _v is None:
        BYTES_DELETE.append(_c)
    else:
        BYTES_TABLE[_c] = ord(_v.strip() or " ")
# The same with upper-case letters lowered, for `quick`.
LOWER_BYTES_TABLE = bytes(BYTES_TABLE).translate(
    bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz"))
BYTES_TABLE = bytes(BYTES_TABLE)
BYTES_DELETE = bytes(BYTES_DELETE)
DOT, COMMA = ord("."), ord(",")


def ascii_fast(low: str) -> str:
    """Punctuation and markdown of lower-case ASCII text undone; single spaces."""
    raw = low.encode("ascii").translate(BYTES_TABLE, BYTES_DELETE)
    if DOT in raw:
        raw = raw.replace(b".", b" . ")
    if COMMA in raw:
        raw = raw.replace(b",", b" , ")
    return b" ".join(raw.split()).decode("ascii")
