"""A site's own template that cannot be compiled or rendered: the site's to fix, so an
error naming the template's file (and line, where Jinja knows it), exit 1, and no output
changed; never "internal error" (exit 70). Also when the template fails in a worker."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from cli_run import MINIMAL, run
from conftest import SiteMaker, snapshot

RECORDS = {f"s{n}.yaml": f"title: S{n}\ndate: {date(2015, 1, 5) + timedelta(weeks=n)}\n"
                         f"language: en\nexcerpt: Text {n}.\nid: urn:sfb:s{n}\n"
           for n in range(3)}
NOW = "2016-01-01T00:00:00+00:00"
PAGE = '{% extends "base.html" %}\n{% block content %}\n{{ BROKEN }}\n{% endblock %}\n'


def _build(config: Path) -> tuple[int, str, str]:
    return run(["build", "--config", str(config), "--now", NOW])


@pytest.mark.parametrize(("name", "source", "said"), [
    ("email/digest.html", PAGE.replace("{{ BROKEN }}", "{% if %}"),
     "email/digest.html:3: the site's template failed: TemplateSyntaxError: Expected an "
     "expression, got 'end of statement block'"),
    ("email/digest.html", PAGE.replace("BROKEN", "statements | nosuchfilter"),
     "email/digest.html:3: the site's template failed: TemplateAssertionError: No filter "
     "named 'nosuchfilter'."),
    # Inlined once (no file of its own when it runs): run again from its file, for the line.
    ("email/digest.html", PAGE.replace("BROKEN", "1 / 0"),
     "email/digest.html:3: the site's template failed: ZeroDivisionError: division by zero"),
    ("email/digest.txt", "{{ site_title }}\n{{ nosuch.attr }}\n",
     "email/digest.txt:2: the site's template failed: UndefinedError: 'nosuch' is undefined"),
    ("email/archive.html", PAGE.replace("BROKEN", "entries[99]"),
     "email/archive.html:3: the site's template failed: UndefinedError:"),
    ("pages/index.html", "<p>{{ title }}</p>\n{% for %}\n",
     "pages/index.html:2: the site's template failed: TemplateSyntaxError: Expected an "
     "expression, got 'end of statement block'"),
])
def test_a_broken_site_template_is_an_error_naming_it(
        make_site: SiteMaker, name: str, source: str, said: str) -> None:
    config = make_site(RECORDS, config=MINIMAL + "templates: templates\n")
    (config.parent / "templates" / "email").mkdir(parents=True)
    assert _build(config)[0] == 0
    before = snapshot(config.parent / "feeds")
    template = config.parent / "templates" / name
    template.parent.mkdir(parents=True, exist_ok=True)
    template.write_text(source, "utf-8")
    code, out, err = _build(config)
    assert (code, out) == (1, "")
    assert err.startswith(f"error: site/templates/{said}"), err
    assert err.endswith("; correct it, or remove it to use the built-in one\n")
    assert err.count("\n") == 1
    assert snapshot(config.parent / "feeds") == before


def test_a_template_failing_in_a_worker_is_named_too(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    """Enough digests for workers (the first is rendered before they start), the
    template failing for a late week only: the error crosses from the worker whole."""
    monkeypatch.setenv("SFB_FEEDS_WORKERS", "2")
    records = {f"s{n}.yaml": f"title: S{n}\ndate: {date(2014, 1, 6) + timedelta(weeks=n)}\n"
                             f"language: en\nexcerpt: Text {n}.\nid: urn:sfb:s{n}\n"
               for n in range(80)}
    config = make_site(records, config=MINIMAL + "templates: templates\n")
    (config.parent / "templates" / "email").mkdir(parents=True)
    (config.parent / "templates" / "email" / "digest.txt").write_text(
        '{{ site_title }}\n{{ (1 / 0) if browser_url.endswith("2015-W20.html") else "" }}\n',
        "utf-8")
    code, out, err = _build(config)
    assert (code, out) == (1, "")
    assert err == ("error: site/templates/email/digest.txt:2: the site's template failed: "
                   "ZeroDivisionError: division by zero; correct it, or remove it to use the "
                   "built-in one\n")
    assert not (config.parent / "feeds" / "atom.xml").exists()
