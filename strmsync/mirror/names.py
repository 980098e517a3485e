"""Which local names an SMB share cannot hold, and which differ only by case (DESIGN.md §8).

A refused name is reported, never silently dropped or renamed; case twins are reported as a
conflict and none of them is transferred.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FORBIDDEN = set('?:*<>|"\\')
# Any forbidden or control character: one C-speed search before the per-character message.
_REFUSED_CHAR = re.compile(r'[?:*<>|"\\\x00-\x1f]')
# SMB counts a name's length in UTF-16 code units (MS-FSCC 2.1.5: 255 at most).
MAX_NAME_UNITS = 255
RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{n}" for n in range(1, 10)]
    + [f"LPT{n}" for n in range(1, 10)]
)


def refused_reason(rel: str) -> str | None:
    """Why an SMB share cannot hold this posix relative path, or None when it can."""
    for name in rel.split("/"):
        reason = _name_reason(name)
        if reason is not None:
            return f"{name!r}: {reason}"
    return None


def _name_reason(name: str) -> str | None:
    if _REFUSED_CHAR.search(name):
        for char in name:
            if char in FORBIDDEN:
                return f"holds {char!r}, which SMB refuses"
            if ord(char) < 0x20:
                return f"holds control character 0x{ord(char):02x}, which SMB refuses"
    # A character is one or two UTF-16 units: only a name over half the limit can exceed it.
    units = len(name.encode("utf-16-le")) // 2 if len(name) * 2 > MAX_NAME_UNITS else len(name)
    if units > MAX_NAME_UNITS:
        return f"is {units} UTF-16 units long, SMB allows {MAX_NAME_UNITS}"
    if name.endswith("."):
        return "ends with a dot, which SMB drops"
    if name.endswith(" "):
        return "ends with a space, which SMB drops"
    # Windows reserves these device names with any extension: "con.nfo" is CON too.
    if name.split(".", 1)[0].upper() in RESERVED:
        return "is a reserved DOS device name"
    return None


def case_twins(paths: Iterable[str]) -> list[list[str]]:
    """Groups of paths that differ only by case, which a case-insensitive share holds as one."""
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(_fold(path), []).append(path)
    return sorted(sorted(set(group)) for group in groups.values() if len(set(group)) > 1)


def _fold(path: str) -> str:
    # One character to one character, as the share's upcase table does: str.upper() would
    # turn "ß" into "SS" and call "straße" and "STRASSE" twins, which SMB does not. Every
    # character upper-cases to one or more, so an upper() as long as the path is that fold.
    upper = path.upper()
    if len(upper) == len(path):
        return upper
    return "".join(up if len(up := char.upper()) == 1 else char for char in path)
