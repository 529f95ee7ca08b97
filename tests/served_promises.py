"""What a web-server snippet of the docs must give, whichever server runs it.

tests/test_ops_nginx.py and tests/test_ops_apache.py each start their server over the
built sample site (their ``served`` fixture: the output folder's base URL and the config)
and import the ``test_*`` functions below, so pytest runs each promise against each server.
"""

from __future__ import annotations

import gzip
import io
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from conftest import REPO

from sfb_feeds.cli import main
from sfb_feeds.config import load_settings
from sfb_feeds.loader import load_statements
from sfb_feeds.pipeline import all_formats
from sfb_feeds.plan import plan_outputs
from sfb_feeds.site import make_site

NOW = "2015-09-30T12:00:00+00:00"
Served = tuple[str, Path]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def built_sample(site: Path) -> Path:
    """The sample site copied to ``site`` (made here) and built; its config's path."""
    site.mkdir()
    shutil.copy(REPO / "sfb-feeds.yaml", site)
    shutil.copytree(REPO / "statements", site / "statements")
    config = site / "sfb-feeds.yaml"
    code = main(["build", "--quiet", "--config", str(config), "--now", NOW],
                out=io.StringIO(), err=io.StringIO())
    assert code == 0
    return config


def wait_for(server: subprocess.Popen[bytes], port: int, said: Callable[[], str]) -> None:
    """Until ``server`` takes connections on ``port`` (``said``: its log, if it stopped)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert server.poll() is None, said()
            assert time.monotonic() < deadline, f"the server did not start: {said()}"
            time.sleep(0.05)


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers.items()), error.read()


def planned_media_types(config: Path) -> dict[str, str]:
    settings = load_settings(config)
    statements = load_statements(settings).statements
    site = make_site(settings, statements, datetime.fromisoformat(NOW))
    formats = all_formats(settings, site.languages)
    return {path: media_type for item in plan_outputs(site, formats)
            for path, (_, media_type) in zip(item.paths, item.format.outputs, strict=True)}


def test_every_output_is_served_with_its_formats_media_type(served: Served) -> None:
    base, config = served
    outputs = planned_media_types(config)
    assert {path.rpartition(".")[2] for path in outputs} >= {"xml", "json", "opml", "html",
                                                             "txt", "eml"}
    feeds = config.parent / "feeds"
    for path, media_type in outputs.items():
        status, headers, body = fetch(base + path)
        assert status == 200, path
        assert body == (feeds / path).read_bytes()
        served_type, _, parameters = headers["Content-Type"].partition(";")
        assert served_type == media_type, path
        if media_type != "message/rfc822":  # a message declares its charsets inside
            assert parameters.strip().lower() == "charset=utf-8", path


def test_feeds_can_be_revalidated_and_are_cached_briefly(served: Served) -> None:
    base, config = served
    status, headers, _ = fetch(base + "pl/atom.xml")
    assert status == 200
    assert headers["Cache-Control"] == "max-age=300"
    assert "Last-Modified" in headers
    etag = headers["ETag"]
    assert fetch(base + "pl/atom.xml", **{"If-None-Match": etag})[0] == 304
    assert fetch(base + "pl/rss.xml")[1]["Cache-Control"] == "max-age=300"
    # A build that changes nothing keeps every file's modification time, hence its ETag.
    code = main(["build", "--config", str(config), "--now", NOW], out=io.StringIO(),
                err=io.StringIO())
    assert code == 0
    assert fetch(base + "pl/atom.xml")[1]["ETag"] == etag


@pytest.mark.parametrize("path", ["pl/atom.xml", "pl/rss.xml", "pl/feed.json", "feeds.opml",
                                  "index.html", "digests/pl/2015-W36.txt"])
def test_text_is_compressed_for_whoever_asks_and_caches_keep_the_two_apart(
        served: Served, path: str) -> None:
    """gzip to a client that accepts it, the file's own bytes to one that does not, and
    ``Vary: Accept-Encoding`` on both: a shared cache (the responses may be kept for 5
    minutes) must not hand the compressed copy to a reader that cannot read it."""
    base, config = served
    original = (config.parent / "feeds" / path).read_bytes()
    status, headers, body = fetch(base + path, **{"Accept-Encoding": "gzip"})
    assert (status, headers.get("Content-Encoding")) == (200, "gzip")
    assert gzip.decompress(body) == original
    assert headers.get("Vary") == "Accept-Encoding"
    status, headers, body = fetch(base + path)
    assert (status, "Content-Encoding" in headers, body) == (200, False, original)
    assert headers.get("Vary") == "Accept-Encoding"


@pytest.mark.parametrize("name", [".sfb-feeds-manifest.json", ".sfb-feeds.lock",
                                  "pl/.atom.xml.sfb-tmp"])
def test_the_tools_own_files_are_not_served(served: Served, name: str) -> None:
    base, config = served
    path = config.parent / "feeds" / name
    if not path.exists():
        path.write_text("temporary")  # as a killed run leaves it
    assert fetch(base + name)[0] == 404


@pytest.mark.parametrize("name", [".sfb-cache/records/a.json", ".old/pl/rss.xml",
                                  ".old/pl/atom.xml", ".git/config"])
def test_nothing_under_a_hidden_folder_is_served(served: Served, name: str) -> None:
    """Hidden means every path with a dot-named part, even one ending in ``/rss.xml``
    (which a snippet may type apart): a ``.git`` or ``.old`` folder stays private."""
    base, config = served
    path = config.parent / "feeds" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("private")
    assert fetch(base + name)[0] == 404
    assert fetch(base + name.replace(".", "%2E", 1))[0] == 404


@pytest.mark.parametrize("folder", ["", "pl/", "digests/", "digests/pl/"])
def test_no_folder_is_listed(served: Served, folder: str) -> None:
    """A folder with an index.html serves it; one without (a language's feeds, the digests)
    is refused, never listed: its file names, dot-files included, stay unknown."""
    base, config = served
    feeds = config.parent / "feeds"
    status, _, body = fetch(base + folder)
    if (feeds / folder / "index.html").exists():
        assert (status, body) == (200, (feeds / folder / "index.html").read_bytes())
        return
    assert folder in ("pl/", "digests/")  # the sample site has no index.html there
    names = [path.name for path in (feeds / folder).iterdir()]
    assert names
    assert [name for name in names if f'href="{name}'.encode() in body] == []
    assert b"Index of" not in body
    assert status in (403, 404)
