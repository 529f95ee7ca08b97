"""The .eml digests read by MIME parsers other than Python's: mblaze (``mhdr``, ``mshow``;
Debian's ``mblaze``) and Courier's ``reformime`` (Debian's ``maildrop``). Each must see
the same headers as the email package and parts that decode to exactly the .txt and
.html outputs, the plain text first. A test whose tool is missing skips, naming the
package to install."""

# ruff: noqa: RUF001 (titles in several scripts on purpose)

from __future__ import annotations

import email
import email.policy
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import render_site
from test_digest_factory import NOW, settings, statement

from sfb_feeds import digest
from sfb_feeds.site import make_site

TITLE = 'Socialism, From Below: "IST" =?utf-8?q?x?= (Test) – Sosyalizm İçin'
SENDER = '"Socialism, From Below" <digest@example.org>'
TITLES = {
    "ar": "بيان: لا للحرب — \"فلسطين حرة\" (IST) 2015",
    "ko": "한국: 노동자 총파업을 지지한다, \"민주노총\"",
    "tr": "Türkiye: AKP'nin savaşına hayır; İstanbul'da ılımlı değil",
    "pl": "Stanowisko: Żądamy otwartych granic, „uchodźcy” mile widziani",
    "el": "Ελλάδα: Όχι στη λιτότητα, «ΟΧΙ» στο μνημόνιο",
    "ja": "日本：安保法案に反対する声明「戦争法案」廃案へ",
}
HEADERS = ("Subject", "From", "To", "List-Id", "List-Archive", "List-Unsubscribe", "Date",
           "Message-ID", "Content-Language")


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not found (install Debian's '{package}' package)")
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, bytes, bytes]]:
    """Each language's .eml (as a file), .txt and .html."""
    lists = {lang: f"{lang}@lists.example.org" for lang in TITLES}
    options = settings(title=TITLE, sender=SENDER, lists=lists)
    statements = [statement(title, lang=lang, excerpt=(f"{title}.", "From below...")
                            ) for lang, title in TITLES.items()]
    site = make_site(options, statements, NOW)
    outputs = {o.path: o.data for o in render_site(site, digest.formats(site.settings,
                                                                        site.languages))}
    folder = tmp_path_factory.mktemp("eml")
    found = {}
    for lang in TITLES:
        stem = f"digests/{lang}/2015-W36"
        path = folder / f"{lang}.eml"
        path.write_bytes(outputs[f"{stem}.eml"])
        found[lang] = (path, outputs[f"{stem}.txt"], outputs[f"{stem}.html"])
    return found


def _run(*command: str, data: bytes | None = None) -> bytes:
    return subprocess.run(command, input=data, capture_output=True, check=True,
                          timeout=60).stdout


def _lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


@pytest.mark.parametrize("lang", TITLES)
def test_mblaze_reads_the_headers_as_the_email_package_does(
        built: dict[str, tuple[Path, bytes, bytes]], lang: str) -> None:
    mhdr = _tool("mhdr", "mblaze")
    path = built[lang][0]
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    for name in HEADERS:
        shown = _run(mhdr, "-d", "-h", name, str(path)).decode("utf-8").rstrip("\n")
        assert shown == str(message[name]), name
    # (and those are the settings' words: the title as written, quotes and "=?" and all;
    # in a right-to-left digest between FSI and PDI, as it holds Latin letters)
    site = f"\u2068{TITLE}\u2069" if lang in ("ar", "he", "fa", "ur") else TITLE
    assert str(message["Subject"]).startswith(site)
    assert str(message["List-Id"]) == f"{TITLE} <{lang}.digests.www.istendency.net>"
    assert str(message["From"]) == SENDER


@pytest.mark.parametrize("lang", TITLES)
def test_mblaze_and_reformime_decode_the_parts_to_the_outputs(
        built: dict[str, tuple[Path, bytes, bytes]], lang: str) -> None:
    mshow = _tool("mshow", "mblaze")
    reformime = _tool("reformime", "maildrop")
    path, text, html = built[lang]
    structure = _run(mshow, "-t", str(path)).decode().splitlines()
    assert [line.split()[1] for line in structure[1:]] == [
        "multipart/alternative", "text/plain", "text/html"]
    assert _lf(_run(mshow, "-O", str(path), "2")) == text
    assert _lf(_run(mshow, "-O", str(path), "3")) == html
    assert _lf(_run(reformime, "-e", "-s", "1.1", data=path.read_bytes())) == text
    assert _lf(_run(reformime, "-e", "-s", "1.2", data=path.read_bytes())) == html
