"""Which local names an SMB share cannot hold, and which differ only by case (DESIGN.md §8).

A refused name is reported, never silently dropped or renamed; case twins are reported as a
conflict and none of them is transferred.
"""

from __future__ import annotations

from collections.abc import Iterable

FORBIDDEN = set('?:*<>|"\\')
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
    for char in name:
        if char in FORBIDDEN:
            return f"holds {char!r}, which SMB refuses"
        if ord(char) < 0x20:
            return f"holds control character 0x{ord(char):02x}, which SMB refuses"
    units = len(name.encode("utf-16-le")) // 2
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
    # turn "ß" into "SS" and call "straße" and "STRASSE" twins, which SMB does not.
    return "".join(up if len(up := char.upper()) == 1 else char for char in path)
