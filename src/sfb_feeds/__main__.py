"""``python -m sfb_feeds`` runs the command line."""

from sfb_feeds.cli import entry_point

entry_point()
