"""A record whose ``updated`` is later than the run's clock: an edit that has not happened.

Found by running the W3C Feed Validation Service's own source (github.com/w3c/feedvalidator,
``43dabeb``) over a built site: a published statement with ``updated: 2027-06-01`` went into
every feed as it was, so the entry's ``atom:updated``, the feed's ``atom:updated`` and the
RSS ``lastBuildDate`` said June 2027, and the validator warned ImplausibleDate on each
(validators.py: a date more than one day after the validator's clock is implausible).
Readers that order by the time of the last change kept the entry on top until then.
``check`` said the record was OK. Such a record is now bad input: ``check`` and ``build``
name its file, line, record and field and exit 1, writing nothing. A statement scheduled
after the clock keeps ``updated`` equal to its date (the default) and stays scheduled.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cli_run import run
from conftest import SiteMaker
from lxml import etree

CONFIG = "site:\n  title: T\n  url: https://example.org/\n"
RECORD = ("title: Edited later\ndate: 2026-12-01\nupdated: {updated}\nlanguage: en\n"
          "url: https://example.org/a\nexcerpt: x\n")
NOW = "2026-12-08T10:00:00Z"
ATOM = "{http://www.w3.org/2005/Atom}"


def _dates(root: Path) -> list[datetime]:
    """Every Atom ``updated``/``published`` and RSS ``pubDate``/``lastBuildDate`` written."""
    from email.utils import parsedate_to_datetime

    found: list[datetime] = []
    for path in root.rglob("*.xml"):
        tree = etree.parse(str(path))
        found += [datetime.fromisoformat(e.text) for e in tree.iter(
            f"{ATOM}updated", f"{ATOM}published")]
        found += [parsedate_to_datetime(e.text) for e in tree.iter("pubDate", "lastBuildDate")]
    return found


def test_check_refuses_an_updated_after_the_clock(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": RECORD.format(updated="2027-06-01")}, config=CONFIG)
    code, _, err = run(["check", "--config", str(config), "--now", NOW])
    assert code == 1
    assert err.startswith("error: site/statements/a.yaml:1: record 1: updated: is after the run's "
                          "clock (2026-12-08T10:00:00+00:00)"), err


def test_build_refuses_it_and_writes_nothing(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": RECORD.format(updated="2026-12-08T11:00:00Z")},
                       config=CONFIG)
    code, _, err = run(["build", "--config", str(config), "--now", NOW])
    assert code == 1
    assert "statements/a.yaml:1: record 1: updated: is after the run's clock" in err
    assert not (config.parent / "feeds").exists()


def test_no_date_written_is_implausible_to_the_validator(make_site: SiteMaker) -> None:
    """validators.py (rfc3339 / rfc822 ``implausible``): later than a day after the clock
    is ImplausibleDate. Once the clock reaches the edit, the record builds, and no date in
    any document is later than a day after the run's clock."""
    config = make_site({"a.yaml": RECORD.format(updated="2026-12-08T09:00:00Z")},
                       config=CONFIG)
    code, _, err = run(["build", "--config", str(config), "--now", NOW])
    assert code == 0, err
    dates = _dates(config.parent / "feeds")
    assert datetime(2026, 12, 8, 9, 0, tzinfo=UTC) in [d.replace(microsecond=0) for d in dates]
    clock = datetime.fromisoformat(NOW)
    assert dates and max(dates) <= clock + timedelta(days=1)


def test_a_scheduled_statement_is_still_scheduled(make_site: SiteMaker) -> None:
    later = ("title: Later\ndate: 2027-01-05\nlanguage: en\nurl: https://example.org/b\n"
             "excerpt: x\n")
    same = later.replace("date: 2027-01-05\n", "date: 2027-01-05\nupdated: 2027-01-05\n")
    config = make_site({"a.yaml": RECORD.format(updated="2026-12-02"), "b.yaml": later,
                        "c.yaml": same.replace("/b\n", "/c\n"),
                        "d.yaml": RECORD.format(updated="2027-01-01").replace("/a\n", "/d\n")
                        + "draft: true\n"}, config=CONFIG)
    code, out, err = run(["check", "--config", str(config), "--now", NOW])
    assert (code, err) == (0, ""), err
    assert "(2 scheduled, 1 draft)" in out
