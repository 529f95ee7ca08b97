"""docs/feeds.md's Apache snippet, run by a real Apache over a built sample site.

The same promises as the nginx snippet (tests/test_ops_nginx.py): every output with its
format's media type, UTF-8 for text, revalidation headers and a short max-age, text
compressed with ``Vary: Accept-Encoding``, and nothing under a dot-named file or folder
served, and no folder listed. Both ways the guide offers are run: a ``<Directory>`` block
and an ``.htaccess``, under Debian's defaults (mod_autoindex and mod_dir loaded, ``Options
Indexes`` on the web root).
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
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

APACHE = shutil.which("apache2") or next(
    (p for p in ("/usr/sbin/apache2", "/usr/local/sbin/apache2") if os.path.exists(p)), None)
MODULES = Path("/usr/lib/apache2/modules")
pytestmark = pytest.mark.skipif(
    APACHE is None or not MODULES.is_dir(),
    reason="Apache is not installed (apt-get install apache2: /usr/sbin/apache2 and its "
           "modules in /usr/lib/apache2/modules)")
NOW = "2015-09-30T12:00:00+00:00"
# What the snippet says it needs (mpm_event and authz_core: any Apache has them).
NEEDED = ("mpm_event", "authz_core", "mime", "alias", "expires", "filter", "deflate")
# What Debian's Apache has on besides: folders without index.html are listed, unless told.
DEBIAN = ("autoindex", "dir")


def guide_snippet() -> str:
    """The Apache block of docs/feeds.md."""
    text = (REPO / "docs" / "feeds.md").read_text()
    for block in re.findall(r"```apache\n(.*?)```", text, re.S):
        if "message/rfc822" in block:
            return str(block)
    raise AssertionError("no Apache snippet serving .eml files in docs/feeds.md")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def apache_conf(prefix: Path, site: Path, port: int, way: str) -> str:
    """A whole configuration: the snippet in a ``<Directory>`` block, or (``way`` is
    ``htaccess``) written to the output folder's ``.htaccess``."""
    modules = "".join(f"LoadModule {name}_module {MODULES}/mod_{name}.so\n"
                      for name in NEEDED + DEBIAN)
    # Apache will not serve as root: its workers run as nobody, who can read the site.
    user = "User #65534\nGroup #65534\n" if os.geteuid() == 0 else ""
    (prefix / "mime.types").write_text("")
    if way == "htaccess":
        (site / "feeds" / ".htaccess").write_text(guide_snippet())
        inside = "AllowOverride FileInfo Indexes Options=Indexes\n"  # what the guide says
    else:
        inside = "AllowOverride None\n" + guide_snippet()
    return (f"ServerRoot {prefix}\nServerName 127.0.0.1\nListen 127.0.0.1:{port}\n"
            f"PidFile {prefix}/apache.pid\nDefaultRuntimeDir {prefix}\n"
            f"ErrorLog {prefix}/error.log\n{modules}{user}"
            f"TypesConfig {prefix}/mime.types\nDocumentRoot {site}\n"
            # As Debian's apache2.conf has it for /var/www.
            f"<Directory {site}>\nOptions Indexes FollowSymLinks\n</Directory>\n"
            f"<Directory {site}/feeds>\n{inside}</Directory>\n")


def wait_for(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            said = log.read_text() if log.exists() else ""
            assert server.poll() is None, said
            assert time.monotonic() < deadline, f"Apache did not start: {said}"
            time.sleep(0.05)


@pytest.fixture(scope="module", params=["directory", "htaccess"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    """(base URL of the output folder, config path) of the sample site, built and served."""
    # Not under pytest's own folder, which only its owner may enter.
    root = Path(tempfile.mkdtemp(prefix="sfb-apache-"))
    root.chmod(0o755)
    site = root / "site"
    site.mkdir()
    shutil.copy(REPO / "sfb-feeds.yaml", site)
    shutil.copytree(REPO / "statements", site / "statements")
    config = site / "sfb-feeds.yaml"
    code = main(["build", "--quiet", "--config", str(config), "--now", NOW],
                out=io.StringIO(), err=io.StringIO())
    assert code == 0
    port = free_port()
    (root / "apache.conf").write_text(apache_conf(root, site, port, request.param))
    assert APACHE is not None
    server = subprocess.Popen([APACHE, "-f", str(root / "apache.conf"), "-DFOREGROUND"])
    try:
        wait_for(server, port, root / "error.log")
        yield f"http://127.0.0.1:{port}/feeds/", config
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(root)


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


def test_every_output_is_served_with_its_formats_media_type(served: tuple[str, Path]) -> None:
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


def test_feeds_can_be_revalidated_and_are_cached_briefly(served: tuple[str, Path]) -> None:
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
        served: tuple[str, Path], path: str) -> None:
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
                                  "pl/.atom.xml.sfb-tmp", ".htaccess"])
def test_the_tools_own_files_are_not_served(served: tuple[str, Path], name: str) -> None:
    base, config = served
    path = config.parent / "feeds" / name
    if not path.exists():
        path.write_text("temporary")  # as a killed run leaves it
    assert fetch(base + name)[0] == 404


@pytest.mark.parametrize("name", [".sfb-cache/records/a.json", ".old/pl/rss.xml",
                                  ".old/pl/atom.xml", ".git/config"])
def test_nothing_under_a_hidden_folder_is_served(served: tuple[str, Path], name: str) -> None:
    """Hidden means every path with a dot-named part, even one ending in ``/rss.xml``
    (which the snippet types apart): a ``.git`` or ``.old`` folder stays private."""
    base, config = served
    path = config.parent / "feeds" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("private")
    assert fetch(base + name)[0] == 404
    assert fetch(base + name.replace(".", "%2E", 1))[0] == 404


@pytest.mark.parametrize("folder", ["", "pl/", "digests/", "digests/pl/"])
def test_no_folder_is_listed(served: tuple[str, Path], folder: str) -> None:
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


def test_apache_accepts_the_snippet_without_a_warning(tmp_path: Path) -> None:
    """``apache2 -t`` over the guide's snippet: syntax ok, and not one warning."""
    (tmp_path / "site" / "feeds").mkdir(parents=True)
    (tmp_path / "apache.conf").write_text(
        apache_conf(tmp_path, tmp_path / "site", free_port(), "directory"))
    assert APACHE is not None
    checked = subprocess.run([APACHE, "-t", "-f", str(tmp_path / "apache.conf")],
                             capture_output=True, text=True, timeout=60, check=False)
    said = checked.stdout + checked.stderr
    assert checked.returncode == 0, said
    assert said.strip() == "Syntax OK"
