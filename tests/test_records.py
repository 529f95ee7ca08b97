"""Bad input: every problem reported as PATH:LINE: record N: FIELD: message, exit 1."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import GOOD_RECORD, SiteMaker, snapshot
from lxml import etree
from lxml import html as lxml_html

from sfb_feeds.cli import main
from sfb_feeds.urls import canonical_uri

R = "statements/rec.yaml"
BASE = "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\ndraft: false\n"

BAD_RECORDS: list[tuple[str, str | bytes, str]] = [
    ("yaml syntax", "title: [unclosed\ndate: 2015-09-04\n",
     f"{R}:2: YAML syntax error: did not find expected ',' or ']'"),
    ("not utf-8", b"title: caf\xe9\ndate: 2015-09-04\n",
     f"{R}:1: not UTF-8 text (byte 0xe9); save the file as UTF-8"),
    ("neither mapping nor list", "just a line of text\n",
     f"{R}:1: must hold a record (a mapping) or a list of records"),
    ("missing field", "title: A\ndate: 2015-09-04\nlanguage: en\n",
     f"{R}:1: record 1: excerpt: is missing; every record needs it"),
    ("empty field", 'title: ""\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n',
     f"{R}:1: record 1: title: is empty; give it a value"),
    ("blank field", "title:\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n",
     f"{R}:1: record 1: title: is empty; give it a value"),
    ("empty excerpt", 'title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: ""\n',
     f"{R}:4: record 1: excerpt: is empty; give it a value"),
    ("blank date", "title: A\ndate:\nlanguage: en\nexcerpt: x\n",
     f"{R}:2: record 1: date: is empty; give it a value"),
    ("empty optional field", "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\nurl: ' '\n",
     f"{R}:5: record 1: url: is empty; give it a value or remove the field"),
    ("empty language (detected when left out)",
     'title: A\ndate: 2015-09-04\nlanguage: ""\nexcerpt: x\n',
     f"{R}:3: record 1: language: is empty; give it a value or remove the field"),
    ("list for text", "title: [a, b]\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n",
     f"{R}:1: record 1: title: must be text, not a list"),
    ("text for list", "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\nauthors: DSIP\n",
     f"{R}:5: record 1: authors: must be a list (e.g. [First, Second]), not a value"),
    ("mapping in list", "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\ntags: [{a: b}]\n",
     f"{R}:5: record 1: tags: item 1 must be text, not a mapping"),
    ("null in a list", "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\nauthors: [1, null]\n",
     f"{R}:5: record 1: authors: item 2 is empty; give it a value or remove the item"),
    ("tilde in a list", "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\ntags: [~, a]\n",
     f"{R}:5: record 1: tags: item 1 is empty; give it a value or remove the item"),
    ("quoted empty list item", "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n"
     "authors: [X, ' ']\n",
     f"{R}:5: record 1: authors: item 2 is empty; give it a value or remove the item"),
    ("blank list item", "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\ntags:\n  - a\n"
     "  -\n", f"{R}:5: record 1: tags: item 2 is empty; give it a value or remove the item"),
    ("not a boolean", "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\ndraft: maybe\n",
     f"{R}:5: record 1: draft: must be true or false"),
    ("impossible date", "title: A\ndate: 2015-02-30\nlanguage: en\nexcerpt: x\n",
     f"{R}:2: record 1: date: 2015-02-30 is not a date (use YYYY-MM-DD)"),
    ("not a date", "title: A\ndate: last Friday\nlanguage: en\nexcerpt: x\n",
     f"{R}:2: record 1: date: last Friday is not a date (use YYYY-MM-DD, or "
     "YYYY-MM-DDTHH:MM[:SS[.ffffff]] with Z or ±HH:MM)"),
    ("date-time without offset", "title: A\ndate: 2015-09-04T10:00:00\nlanguage: en\nexcerpt: x\n",
     f"{R}:2: record 1: date: 2015-09-04T10:00:00 has no UTC offset (add one, e.g. "
     "2015-09-04T10:00:00+00:00)"),
    *[(f"date {value}", f"title: A\ndate: '{value}'\nlanguage: en\nexcerpt: x\n",
       f"{R}:2: record 1: date: {value} is not a date (use YYYY-MM-DD, or "
       "YYYY-MM-DDTHH:MM[:SS[.ffffff]] with Z or ±HH:MM)")
      for value in ("20150910", "20150910+00:00", "2015-W37-4", "2015-W37-4+00:00",
                    "2015-09-10+00:00", "2015-W37-4T10:00", "20150910T1000")],
    ("updated without offset",
     "title: A\ndate: 2015-09-04\nupdated: 2015-09-05 10:00\nlanguage: en\nexcerpt: x\n",
     f"{R}:3: record 1: updated: 2015-09-05 10:00 has no UTC offset (add one, e.g. "
     "2015-09-05 10:00+00:00)"),
    ("relative url", "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\nurl: /statements/a\n",
     f"{R}:5: record 1: url: '/statements/a' is not an absolute http(s) URL "
     "(e.g. https://example.org/x)"),
    ("non-http url", "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\nurl: ftp://e.org/a\n",
     f"{R}:5: record 1: url: 'ftp://e.org/a' is not an absolute http(s) URL "
     "(e.g. https://example.org/x)"),
    ("url with credentials",
     "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\nurl: https://ann:pw@e.org/a\n",
     f"{R}:5: record 1: url: 'https://…@e.org/a' holds a user name or password before its "
     "host (not shown here), which every feed, page and mail header would publish; remove it "
     "(e.g. https://e.org/a) and give the server its credentials some other way"),
    *[(f"url with the port {port}",
       f"title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\nurl: https://e.org:{port}/a\n",
       f"{R}:5: record 1: url: 'https://e.org:{port}/a' is not a URI: its port '{port}' is not "
       "a number from 0 to 65535; give an absolute http(s) URL (e.g. https://example.org/x)")
      for port in ("abc", "99999", "-1")],
    ("id with a port that is no number",
     "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\nid: https://e.org:8o/a\n",
     f"{R}:5: record 1: id: 'https://e.org:8o/a' is not a URI: its port '8o' is not a number "
     "from 0 to 65535; use the statement's URL or a tag URI such as "
     "tag:example.org,2015:refugee-statement (feeds publish it in RFC 3986 normal form)"),
    ("javascript url",
     "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\nurl: 'javascript:alert(1)'\n",
     f"{R}:5: record 1: url: 'javascript:alert(1)' is not an absolute http(s) URL "
     "(e.g. https://example.org/x)"),
    ("language escaping the folder", "title: A\ndate: 2015-09-04\nlanguage: ../x\nexcerpt: x\n",
     f"{R}:3: record 1: language: '../x' is not a BCP 47 language tag (e.g. en, pl, pt-BR)"),
    ("language with a path", "title: A\ndate: 2015-09-04\nlanguage: en/../../etc\nexcerpt: x\n",
     f"{R}:3: record 1: language: 'en/../../etc' is not a BCP 47 language tag "
     "(e.g. en, pl, pt-BR)"),
    ("language name", "title: A\ndate: 2015-09-04\nlanguage: english\nexcerpt: x\n",
     f"{R}:3: record 1: language: 'english' is not a BCP 47 language tag (e.g. en, pl, pt-BR)"),
    ("unknown field", "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\nauthor: [X]\n",
     f"{R}:5: record 1: author: unknown field (did you mean 'authors'?)"),
    ("control character", 'title: "A\\x01B"\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n',
     f"{R}:1: record 1: title: contains the control character U+0001, which feeds cannot "
     "carry; remove it"),
    ("noncharacter U+FDD0 (HTML: a parse error; the validator: NotHtml)",
     'title: A\nexcerpt: "x\\uFDD0y"\ndate: 2015-09-04\nlanguage: en\n',
     f"{R}:2: record 1: excerpt: contains the noncharacter U+FDD0, which feeds cannot "
     "carry; remove it"),
    ("noncharacter of a supplementary plane", "title: A\U0001FFFE\ndate: 2015-09-04\n"
     "language: en\nexcerpt: x\n", f"{R}:1: record 1: title: contains the noncharacter "
     "U+1FFFE, which feeds cannot carry; remove it"),
    ("alias bomb", "- &a [x, x, x, x, x, x, x, x, x]\n- &b [*a, *a, *a, *a, *a, *a, *a]\n"
     "- &c [*b, *b, *b, *b, *b, *b, *b]\n- [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
     f"{R}:2: YAML aliases (*name) are not allowed; write the value out in full"),
    ("merge key", "- &r\n  title: A\n  date: 2015-09-04\n  language: en\n  excerpt: x\n"
     "- <<: *r\n  title: B\n",
     f"{R}:6: YAML aliases (*name) are not allowed; write the value out in full"),
    ("NUL byte", "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\x00y\n",
     f"{R}:4: contains the control character U+0000, which YAML files cannot carry; "
     "remove it"),
    ("escape character after other text", "title: Ą\ndate: 2015-09-04\x1b[2J\nlanguage: en\n",
     f"{R}:2: contains the control character U+001B, which YAML files cannot carry; "
     "remove it"),
    ("noncharacter", "title: A\uffff\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n",
     f"{R}:1: contains the character U+FFFF, which YAML files cannot carry; remove it"),
    ("list as a field name", "? [complex, key]\n: x\ntitle: A\ndate: 2015-09-04\n"
     "language: en\nexcerpt: x\n", f"{R}:1: record 1: [complex, key]: unknown field"),
    ("mapping as a field name", "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n"
     "{a: [b, {c: d}]}: x\n", f"{R}:5: record 1: {{a: [b, {{c: d}}]}}: unknown field"),
    ("alias of a field's value", "title: &t A\ndate: 2015-09-04\nlanguage: en\nexcerpt: *t\n",
     f"{R}:4: YAML aliases (*name) are not allowed; write the value out in full"),
    ("repeated field", "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\ntitle: B\n",
     f"{R}:5: record 1: title: appears twice in this record (first on line 1); keep one"),
    ("updated before date",
     "title: A\ndate: 2015-09-04\nupdated: 2015-09-01\nlanguage: en\nexcerpt: x\n",
     f"{R}:3: record 1: updated: is before the date; it is the time of the last edit "
     "(or leave it out)"),
    ("id that is not a URI", "id: refugees-2015\ntitle: A\ndate: 2015-09-04\nlanguage: en\n"
     "excerpt: x\n", f"{R}:1: record 1: id: 'refugees-2015' is not a URI; use the statement's "
     "URL or a tag URI such as tag:example.org,2015:refugee-statement (feeds publish it in "
     "RFC 3986 normal form)"),
    ("urn id without a name (the W3C validator's InvalidURN)",
     "id: urn:ist-2015-refugees\ntitle: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n",
     f"{R}:1: record 1: id: 'urn:ist-2015-refugees' is not a URN: write "
     "urn:<namespace>:<name> (e.g. urn:ist:2015-refugees), the namespace 2 to 32 letters, "
     "digits and hyphens, the name letters, digits, %XX escapes and ( ) + , - . : = @ ; $ _ "
     "! * '"),
    ("uuid urn that is not a UUID (InvalidUUID)",
     "id: urn:uuid:2015-refugees\ntitle: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n",
     f"{R}:1: record 1: id: 'urn:uuid:2015-refugees' is not a UUID URN: write urn:uuid: and 32 "
     "hexadecimal digits as 8-4-4-4-12 (e.g. urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66)"),
    ("tag id without a date (InvalidTAG)",
     "id: tag:istendency.net:refugees\ntitle: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n",
     f"{R}:1: record 1: id: 'tag:istendency.net:refugees' is not a tag URI: write "
     "tag:<domain>,<YYYY, YYYY-MM or YYYY-MM-DD>:<name>, the domain in lowercase (e.g. "
     "tag:example.org,2015:refugee-statement)"),
    ("tag id with a capital in its domain (InvalidTAG)",
     "id: tag:IST.net,2015-09:a\ntitle: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n",
     f"{R}:1: record 1: id: 'tag:IST.net,2015-09:a' is not a tag URI: write "
     "tag:<domain>,<YYYY, YYYY-MM or YYYY-MM-DD>:<name>, the domain in lowercase (e.g. "
     "tag:example.org,2015:refugee-statement)"),
    ("author with an address (the W3C validator's ContainsEmail)",
     "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\nauthors: [DSIP, Ann <a@b.org>]\n",
     f"{R}:5: record 1: authors: item 2 'Ann <a@b.org>' holds an email address (<a@b.org>); "
     "give the name alone (feeds publish names only)"),
    ("id that urlsplit cannot parse",
     'id: "http://[::1/x"\ntitle: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n',
     f"{R}:1: record 1: id: 'http://[::1/x' is not a URI: Invalid IPv6 URL; use the "
     "statement's URL or a tag URI such as tag:example.org,2015:refugee-statement (feeds "
     "publish it in RFC 3986 normal form)"),
    ("url that urlsplit cannot parse",
     "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\nurl: 'https://[::1/a'\n",
     f"{R}:5: record 1: url: 'https://[::1/a' is not a URI: Invalid IPv6 URL; give an "
     "absolute http(s) URL (e.g. https://example.org/x)"),
    ("second record of a list",
     "- title: A\n  date: 2015-09-04\n  language: en\n  excerpt: x\n"
     "- title: B\n  date: 2015-13-04\n  language: en\n  excerpt: y\n",
     f"{R}:6: record 2: date: 2015-13-04 is not a date (use YYYY-MM-DD)"),
    ("record not a mapping", "- title: A\n  date: 2015-09-04\n  language: en\n  excerpt: x\n"
     "- just text\n", f"{R}:5: record 2: a record must be a mapping of fields "
     "(title: ..., date: ...)"),
    *[(f"tag {written} on {field}", BASE.replace(f"{field}: ", f"{field}: {written} ", 1),
       f"{R}:{line}: record 1: {field}: has the YAML tag {written.split()[0]}, which is not "
       "allowed here; write the value as plain text")
      for field, line, written in (
          ("title", 1, "!!binary aGVsbG8= #"), ("language", 3, "!foo"), ("title", 1, "!!int"),
          ("excerpt", 4, "!!python/object:os.system"), ("title", 1, "!x"),
          ("title", 1, "!<tag:example.org,2000:x>"), ("draft", 5, "!!bool maybe #"),
          ("date", 2, "!!float"))],
    ("tag on a quoted value", BASE.replace("date: 2015-09-04", "date: !!timestamp '2015-09-04'"),
     f"{R}:2: record 1: date: has the YAML tag !!timestamp, which is not allowed here; write "
     "the value as plain text"),
    ("tag on a list", BASE + "tags: !x [a, b]\n",
     f"{R}:6: record 1: tags: has the YAML tag !x, which is not allowed here; remove it"),
    ("tag on a list item", BASE + "authors: [A, !!binary QQ==]\n",
     f"{R}:6: record 1: authors: item 2 has the YAML tag !!binary, which is not allowed "
     "here; write the value as plain text"),
    ("tag on a record", "!statement\n" + BASE,
     f"{R}:1: record 1: has the YAML tag !statement, which is not allowed here; remove it"),
    ("tag on a field name", BASE + "!x url: https://example.org/a\n",
     f"{R}:6: record 1: !x url: unknown field (did you mean 'url'?)"),
]


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("content", "message"),
                         [pytest.param(c, m, id=i) for i, c, m in BAD_RECORDS])
@pytest.mark.parametrize("command", ["check", "build"])
def test_bad_record_is_reported_and_changes_nothing(
    make_site: SiteMaker, command: str, content: str | bytes,
    message: str,
) -> None:
    config = make_site({"good.yaml": GOOD_RECORD, "rec.yaml": content})
    site = config.parent
    feeds = site / "feeds"
    feeds.mkdir()
    (feeds / "atom.xml").write_bytes(b"<feed>old</feed>")
    (feeds / "keep.txt").write_bytes(b"not ours")
    before = snapshot(feeds)
    os.chdir(site)
    code, out, err = run([command, "--config", "sfb-feeds.yaml"])
    assert code == 1
    assert err.splitlines() == [f"error: {message}"]
    assert out == ""
    assert snapshot(feeds) == before


def test_quoting_and_tags_that_change_nothing_are_read_as_the_text_written(
        make_site: SiteMaker) -> None:
    """``!!str`` (and a tag YAML would give the value anyway, ``!!bool false``) is no
    refusal; nor are quoted and block scalars."""
    config = make_site({"rec.yaml": (
        "- {title: !!str 1984, date: !!timestamp 2015-09-04, language: ! en, excerpt: x, "
        "draft: !!bool false, id: 'urn:sfb:a', tags: !!seq [!!str b]}\n"
        "- title: \"Two\"\n  date: '2015-09-04'\n  language: !!str en\n  id: urn:sfb:b\n"
        "  excerpt: >\n    folded\n    text\n  authors: !!seq\n    - |\n      block\n")})
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
    feed = json.loads((config.parent / "feeds" / "en" / "feed.json").read_text())
    assert {(item["title"], tuple(item.get("tags", ())),
             tuple(a["name"] for a in item.get("authors", ()))) for item in feed["items"]} == {
        # (a record without authors names the site's: docs/feeds.md, Authors)
        ("1984", ("b",), ("International Socialist Tendency",)), ("Two", (), ("block",))}


def test_every_problem_in_every_file_is_reported_in_one_run(make_site: SiteMaker) -> None:
    config = make_site({
        "a.yaml": "title: A\ndate: 2015-02-30\nlanguage: en\nexcerpt: x\n",
        "b/b.yml": "tilte: B\ndate: 2015-09-04\nlanguage: xx-!!\nexcerpt: x\n",
    })
    code, _, err = run(["check", "--config", str(config)])
    assert code == 1
    lines = [line.split("statements/", 1)[1] for line in err.splitlines()]
    assert lines == [
        "a.yaml:2: record 1: date: 2015-02-30 is not a date (use YYYY-MM-DD)",
        "b/b.yml:1: record 1: tilte: unknown field (did you mean 'title'?)",
        "b/b.yml:3: record 1: language: 'xx-!!' is not a BCP 47 language tag (e.g. en, pl, pt-BR)",
        "b/b.yml:1: record 1: title: is missing; every record needs it",
    ]


def test_duplicate_ids_name_both_places(make_site: SiteMaker, tmp_path: Path) -> None:
    record = "id: urn:sfb:1\ntitle: {t}\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n"
    config = make_site({"one.yaml": record.format(t="A"),
                        "two.yaml": "# a comment\n" + record.format(t="B")})
    import os

    os.chdir(config.parent)
    code, _, err = run(["check"])
    assert code == 1
    assert err.splitlines() == [
        "error: statements/two.yaml:2: record 1: id: 'urn:sfb:1' is already used by "
        "statements/one.yaml:1 record 1; ids must be unique"
    ]


def test_a_translation_key_on_two_statements_in_one_language_is_a_warning(
        make_site: SiteMaker) -> None:
    record = ("id: urn:sfb:{n}\ntitle: T{n}\ndate: 2015-09-04\nlanguage: {lang}\nexcerpt: x\n"
              "translation_key: k\n")
    config = make_site({"one.yaml": record.format(n=1, lang="en"),
                        "two.yaml": record.format(n=2, lang="pl"),
                        "three.yaml": "# copied\n" + record.format(n=3, lang="en")})
    os.chdir(config.parent)
    code, _, err = run(["check"])
    assert code == 0
    assert err.splitlines() == [
        "warning: statements/three.yaml:2: record 1: translation_key: 'k' is also on "
        "statements/one.yaml:1 record 1, in the same language (en); translations of a "
        "statement are in other languages, so neither is shown as the other's translation"]


def test_duplicate_ids_and_bad_config_leave_the_output_untouched(make_site: SiteMaker) -> None:
    from conftest import SITE_CONFIG, snapshot

    record = "id: urn:sfb:1\ntitle: {t}\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n"
    config = make_site({"one.yaml": record.format(t="A"), "two.yaml": record.format(t="B")})
    assert run(["build", "--config", str(config), "--now", "2016-01-01T00:00:00+00:00"])[0] == 1
    feeds = config.parent / "feeds"
    assert not feeds.exists()  # not even the lock file or the folder
    (config.parent / "statements" / "two.yaml").unlink()
    assert run(["build", "--config", str(config), "--now", "2016-01-01T00:00:00+00:00"])[0] == 0
    before = snapshot(feeds)
    assert "en/atom.xml" in before
    (config.parent / "statements" / "three.yaml").write_text(record.format(t="C"))
    code, _, err = run(["build", "--config", str(config), "--now", "2017-01-01T00:00:00+00:00"])
    assert code == 1
    assert "three.yaml:1: record 1: id: 'urn:sfb:1' is already used by" in err
    assert snapshot(feeds) == before
    (config.parent / "statements" / "three.yaml").unlink()
    config.write_text(SITE_CONFIG + "feeds:\n  entries: none\n")
    code, _, err = run(["build", "--config", str(config), "--now", "2017-01-01T00:00:00+00:00"])
    assert code == 1
    assert err.splitlines() == ["error: " + str(config.relative_to(Path.cwd())) + ":9: "
                                "feeds.entries: 'none' must be a whole number of at least 1"]
    assert snapshot(feeds) == before


@pytest.mark.parametrize("value", ["2015-09-04T10:00:00", "2015-09-05 10:00",
                                   "2015-09-04T10:00:00.5", "2015-09-04t10:00"])
def test_the_advice_to_add_an_offset_gives_a_valid_date(make_site: SiteMaker, value: str
                                                           ) -> None:
    record = "title: A\ndate: '{}'\nlanguage: en\nexcerpt: x\nid: urn:sfb:a\n"
    config = make_site({"a.yaml": record.format(value)})
    code, _, err = run(["check", "--config", str(config)])
    advice = f"{value} has no UTC offset (add one, e.g. {value}+00:00)"
    assert (code, err.split("date: ", 1)[1]) == (1, advice + "\n")
    config = make_site({"a.yaml": record.format(value + "+00:00")}, folder="followed")
    assert run(["check", "--config", str(config)])[0] == 0


@pytest.mark.parametrize("value", ["2015-09-04", "2015-09-04T18:30:00+03:00",
                                   "2015-09-04 18:30+03:00", "2015-09-04T18:30Z",
                                   "2015-09-04T18:30:00.250-05:00", "2015-09-04T18:30:00.123456Z",
                                   "2015-09-04t18:30:00z", "2015-09-04T18:30-00:00"])
def test_calendar_dates_and_times_are_accepted(make_site: SiteMaker, value: str) -> None:
    config = make_site({"a.yaml": f"title: A\ndate: '{value}'\nlanguage: en\nexcerpt: x\n"
                                  "id: urn:sfb:a\n"})
    code, _, err = run(["check", "--config", str(config)])
    assert (code, err) == (0, "")


# ISO 8601 forms that Python's reader takes but the README does not promise (an hour alone,
# basic times and offsets, an hour-only offset, comma or empty fractions, more than six
# fraction digits, a space before the offset): refused, as --now refuses them, never read as
# some moment the writer may not have meant.
ODD_DATE_TIMES = ["2015-09-04T10Z", "2015-09-04T1000Z", "2015-09-04T10:00:00,5Z",
                  "2015-09-04T10:00+0100", "2015-09-04T10:00+01", "2015-09-04T10:00:00.Z",
                  "2015-09-04T10:00 +01:00", "2015-09-04T10:00:00.1234567Z",
                  "2015-09-04T18+0100", "2015-09-04T10", "2015-09-04T10:00:00,5",
                  "2015-09-04T10:00:60Z", "2015-09-04T10:00:00Z+01:00"]


@pytest.mark.parametrize("value", ODD_DATE_TIMES)
def test_date_times_in_forms_the_readme_does_not_give_are_refused(make_site: SiteMaker,
                                                                  value: str) -> None:
    config = make_site({"a.yaml": f"title: A\nupdated: '{value}'\ndate: 2015-09-04\n"
                                  "language: en\nexcerpt: x\nid: urn:sfb:a\n"})
    feeds = config.parent / "feeds"
    before = snapshot(feeds)
    os.chdir(config.parent)
    for command in ("check", "build"):
        code, _, err = run([command, "--config", "sfb-feeds.yaml", "--now", "2016-01-01"])
        assert (code, err.splitlines()) == (1, [
            f"error: statements/a.yaml:2: record 1: updated: {value} is not a date (use "
            "YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS[.ffffff]] with Z or ±HH:MM)"])
    assert snapshot(feeds) == before


@pytest.mark.parametrize("value", [*ODD_DATE_TIMES, "2015-09-04T10:00Z", "2015-09-04 10:00:30Z",
                                   "2015-09-04T10:00:00.5+05:30", "2015-09-04t10:00z"])
def test_records_and_now_take_the_same_date_time_forms(make_site: SiteMaker, value: str
                                                        ) -> None:
    config = make_site({"a.yaml": f"title: A\ndate: '{value}'\nlanguage: en\nexcerpt: x\n"
                                  "id: urn:sfb:a\n"})
    record_taken = run(["check", "--config", str(config)])[0] == 0
    now_taken = run(["check", "--config", str(config), "--now", value])[0] != 2
    assert record_taken == now_taken


@pytest.mark.parametrize(("lower", "upper"), [
    ("2015-09-10t12:00:00+02:00", "2015-09-10T12:00:00+02:00"),
    ("2015-09-10T12:00:00z", "2015-09-10T12:00:00Z"),
    ("2015-09-10t12:00z", "2015-09-10T12:00Z"),
])
def test_rfc_3339_lowercase_t_and_z_mean_the_same_moment(make_site: SiteMaker, lower: str,
                                                          upper: str) -> None:
    """RFC 3339 section 5.6 lets 'T' and 'Z' be written lowercase."""
    built = []
    for folder, value in (("lower", lower), ("upper", upper)):
        config = make_site({"a.yaml": f"title: A\ndate: '{value}'\nlanguage: en\nexcerpt: x\n"
                                      "id: urn:sfb:a\n"}, folder=folder)
        assert run(["check", "--config", str(config)])[::2] == (0, "")
        code, _, err = run(["build", "--config", str(config), "--now", "2016-01-01T00:00:00Z"])
        assert (code, err) == (0, "")
        files = snapshot(config.parent / "feeds")
        built.append({name: data for name, (data, _) in files.items() if "manifest" not in name})
    assert built[0] == built[1]


PUBLISHED = "https://www.istendency.net/statements/a"


@pytest.mark.parametrize(("first", "second", "said"), [
    pytest.param("id: HTTPS://WWW.istendency.net:443/statements/a\n", f"id: {PUBLISHED}\n",
                 f"'{PUBLISHED}' is already used by statements/a.yaml:1 record 1 as "
                 f"'HTTPS://WWW.istendency.net:443/statements/a' (feeds publish both as "
                 f"'{PUBLISHED}'); ids must be unique", id="ids"),
    pytest.param(f"url: {PUBLISHED}\n", "id: https://www.istendency.net/x/../statements/a\n",
                 "'https://www.istendency.net/x/../statements/a' is already used by "
                 f"statements/a.yaml:1 record 1 as '{PUBLISHED}' (feeds publish both as "
                 f"'{PUBLISHED}'); ids must be unique", id="url as id"),
    pytest.param("url: https://www.istendency.net/statements/%7ea\n",
                 "url: https://www.istendency.net/statements/~a\n",
                 "'https://www.istendency.net/statements/~a' is already used by "
                 "statements/a.yaml:1 record 1 as 'https://www.istendency.net/statements/%7ea' "
                 "(feeds publish both as 'https://www.istendency.net/statements/~a'); ids must "
                 "be unique", id="urls as ids"),
    pytest.param("id: TAG:istendency.net,2015:a\n", "id: tag:istendency.net,2015:a\n",
                 "'tag:istendency.net,2015:a' is already used by statements/a.yaml:1 record 1 "
                 "as 'TAG:istendency.net,2015:a' (feeds publish both as "
                 "'tag:istendency.net,2015:a'); ids must be unique", id="tag ids"),
])
def test_ids_published_alike_are_duplicates_in_cold_and_cached_builds(
        make_site: SiteMaker, first: str, second: str, said: str) -> None:
    record = "title: {t}\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n"
    config = make_site({"a.yaml": first + record.format(t="A"),
                        "b.yaml": "id: urn:sfb:b\n" + record.format(t="B")})
    os.chdir(config.parent)
    now = ["--now", "2016-01-01T00:00:00+00:00"]
    assert run(["build", *now])[0] == 0  # the record cache now holds a.yaml
    before = snapshot(config.parent / "feeds")
    Path("statements/b.yaml").write_text(second + record.format(t="B"))
    expected = [f"error: statements/b.yaml:1: record 1: id: {said}"]
    for command in ("build", "check", "build"):  # cached, then again
        code, out, err = run([command, *now])
        assert (code, out, err.splitlines()) == (1, "", expected)
    shutil.rmtree(".sfb-cache")  # cold: nothing cached
    code, _, err = run(["build", *now])
    assert (code, err.splitlines()) == (1, expected)
    assert snapshot(config.parent / "feeds") == before


@pytest.mark.parametrize("ident", [
    "urn:ist:2015-refugees", "URN:IST:a%2Fb(c)", "urn:uuid:6E8BC430-9C3A-11D9-9669-0800200C9A66",
    "tag:istendency.net,2015:refugees/pl?x=1#top", "tag:ann@example.org,2015-09-04:a",
    "urn:ist:Uchodźcy", "TAG:istendency.net,2015-09:a"])
def test_urn_and_tag_ids_the_validator_accepts_are_published(make_site: SiteMaker,
                                                             ident: str) -> None:
    config = make_site({"a.yaml": f"id: '{ident}'\ntitle: A\ndate: 2015-09-04\nlanguage: en\n"
                                  "excerpt: x\n"})
    assert run(["build", "--config", str(config), "--now", "2016-01-01T00:00:00+00:00"]) == (
        0, "13 written, 0 unchanged, 0 removed\n", "")
    feed = json.loads((config.parent / "feeds" / "en" / "feed.json").read_text())
    assert [item["id"] for item in feed["items"]] == [canonical_uri(ident)]


def test_scalars_in_lists_are_text_as_written_like_other_fields(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": "title: 1984\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n"
                                  "id: urn:sfb:a\nauthors: [1, 'null', no]\ntags: [2.50]\n"})
    assert run(["build", "--config", str(config), "--now", "2016-01-01T00:00:00+00:00"])[0] == 0
    feed = json.loads((config.parent / "feeds" / "en" / "feed.json").read_text())
    (item,) = feed["items"]
    assert (item["title"], item["authors"], item["tags"]) == (
        "1984", [{"name": "1"}, {"name": "null"}, {"name": "no"}], ["2.50"])


@pytest.mark.parametrize(("escaped", "paragraphs"), [
    (r"\n\n", ["first", "second"]),
    (r"\r\n\r\n", ["first", "second"]),
    (r"\r\n \t\r\n", ["first", "second"]),
    (r"\r\r", ["first", "second"]),
    (r"\n\r\n", ["first", "second"]),
    (r"\L\L", ["first", "second"]),
    (r"\P\P", ["first", "second"]),
    (r"\r\n", ["first second"]),
    (r"\r", ["first second"]),
    (r"\P", ["first second"]),
])
def test_escaped_line_breaks_in_a_quoted_excerpt_separate_paragraphs_alike(
        make_site: SiteMaker, escaped: str, paragraphs: list[str]) -> None:
    """A double-quoted excerpt written with ``\\r\\n`` (or ``\\r``, or YAML's other line
    breaks ``\\L`` U+2028 and ``\\P`` U+2029) where ``\\n`` stands: a blank line between two
    breaks separates paragraphs whichever break it is; a single one is a space. ``"first\\r\\n
    \\r\\nsecond"`` was one paragraph, "first second"."""
    config = make_site({"a.yaml": "title: A\ndate: 2015-09-04\nlanguage: en\nid: urn:sfb:a\n"
                                  f'excerpt: "first{escaped}second"\n'})
    now = ["--config", str(config), "--now", "2016-01-01T00:00:00+00:00"]
    assert run(["check", *now])[0] == 0
    assert run(["build", *now]) == (0, "13 written, 0 unchanged, 0 removed\n", "")
    feed = json.loads((config.parent / "feeds" / "en" / "feed.json").read_text())
    (item,) = feed["items"]
    assert item["content_text"] == "\n\n".join(paragraphs)
    atom = etree.parse(str(config.parent / "feeds" / "en" / "atom.xml")).getroot()
    content = atom.findtext("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}content")
    assert [p.text for p in lxml_html.fragments_fromstring(content)] == paragraphs
