"""``site.timezone``: an IANA zone that names a place, the same on every machine."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Files in the zoneinfo folder that are no IANA zone of a place: the machine's own zone
# (localtime, and posixrules on some systems), the "unset" Factory, and the posix/ and
# right/ builds not every machine has (compared in lower case: a case-insensitive disk
# finds them so too). (available_timezones() lists localtime and Factory, and takes 18 ms.)
_MACHINE_ZONES = frozenset({"localtime", "posixrules"})
_COPIES = ("posix/", "right/")


def zone_problem(value: str) -> str | None:
    """What is wrong with ``value`` as the site's timezone, or None when it is a place's
    IANA zone: the same records must give the same output on every machine."""
    lower = value.lower()
    if lower in _MACHINE_ZONES:
        return (f"{value!r} is the machine's own zone, not a place: the same records would "
                "give other output on another machine; name the place (e.g. Europe/London)")
    if lower == "factory":
        return f"{value!r} names no zone; name the place (e.g. UTC, Europe/London)"
    if lower.startswith(_COPIES):
        place = value.split("/", 1)[1]
        return f"{value!r} is a copy of {place} that not every machine has; write {place}"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder (Europe)
        return f"{value!r} is not an IANA timezone (e.g. UTC, Europe/London)"
    return None
