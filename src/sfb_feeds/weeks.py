"""Digest weeks: which week a moment belongs to, in the site's timezone."""

from __future__ import annotations

from datetime import datetime

from .model import Settings


def week_label(moment: datetime, settings: Settings) -> str:
    """The ISO week label (``YYYY-Www``) of ``moment`` in the site timezone."""
    year, week, _ = moment.astimezone(settings.site.tz).isocalendar()
    return f"{year:04d}-W{week:02d}"
