"""ISO 639-2 codes newer than the W3C validator's list are written as they are.

The validator (github.com/w3c/feedvalidator ``43dabeb``, ``iso639codes.py`` read by
validators.py ``iso639_validate``) reports InvalidLanguage for ``zxx``, ``zza``, ``nqo``,
``syc`` and ``zgh``, all ISO 639-2 codes added after its list was written: its mistake, not
the feeds'. No other tag names these languages, so Atom ``xml:lang``/``hreflang``, RSS
``<language>`` and OPML ``language`` keep them (docs/feeds.md, Validity): this pins that
they are not bent into another language's code to please the validator.
"""

from __future__ import annotations

import langcodes
import pytest
from test_feeds_fixtures import NOW, XML_LANG, build, make_settings, statement, url, xml

from sfb_feeds.language import feed_language_tag
from sfb_feeds.site import make_site

NEWER = ("zxx", "zza", "nqo", "syc", "zgh")


@pytest.mark.parametrize("tag", NEWER)
def test_written_as_they_are(tag: str) -> None:
    assert feed_language_tag(tag) == tag
    assert langcodes.tag_is_valid(tag)


def test_each_feed_names_them_so() -> None:
    made = tuple(statement(url(tag), f"Title {tag}", "2015-09-06", tag) for tag in NEWER)
    outputs = build(make_site(make_settings(entries=5), made, NOW))
    for tag in NEWER:
        assert xml(outputs[f"{tag}/atom.xml"]).get(XML_LANG) == tag
        assert xml(outputs[f"{tag}/rss.xml"]).findtext("channel/language") == tag
    outlines = {o.get("language") for o in xml(outputs["feeds.opml"]).iter("outline")}
    assert set(NEWER) <= outlines
