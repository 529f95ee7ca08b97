"""`sfb-feeds import`: turn the site's listing pages into statement records.

``import_listings`` is the whole command; ``parse_listing`` reads one listing's text.
"""

from __future__ import annotations

from .listing import ListingEntry, ParsedListing, parse_listing
from .run import ImportReport, import_listings

__all__ = ["ImportReport", "ListingEntry", "ParsedListing", "import_listings", "parse_listing"]
