"""docs/feeds.md's Apache snippet, run by a real Apache over a built sample site.

The same promises as the nginx snippet (tests/test_ops_nginx.py): every output with its
format's media type, UTF-8 for text, revalidation headers and a short max-age, text
compressed with ``Vary: Accept-Encoding``, and nothing under a dot-named file or folder
served, and no folder listed. Both ways the guide offers are run: a ``<Directory>`` block
and an ``.htaccess``, under Debian's defaults (mod_autoindex and mod_dir loaded, ``Options
Indexes`` on the web root).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO
from served_promises import (  # noqa: F401  (the shared promises, run against Apache)
    NOW,
    Served,
    built_sample,
    fetch,
    free_port,
    test_every_output_is_served_with_its_formats_media_type,
    test_feeds_can_be_revalidated_and_are_cached_briefly,
    test_no_folder_is_listed,
    test_nothing_under_a_hidden_folder_is_served,
    test_text_is_compressed_for_whoever_asks_and_caches_keep_the_two_apart,
    test_the_tools_own_files_are_not_served,
    wait_for,
)

from sfb_feeds.cli import main

APACHE = shutil.which("apache2") or next(
    (p for p in ("/usr/sbin/apache2", "/usr/local/sbin/apache2") if os.path.exists(p)), None)
MODULES = Path("/usr/lib/apache2/modules")
pytestmark = pytest.mark.skipif(
    APACHE is None or not MODULES.is_dir(),
    reason="Apache is not installed (apt-get install apache2: /usr/sbin/apache2 and its "
           "modules in /usr/lib/apache2/modules)")
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


def apache_conf(prefix: Path, site: Path, port: int, way: str, more: str = "") -> str:
    """A whole configuration: the snippet in a ``<Directory>`` block, or (``way`` is
    ``htaccess``) written to the output folder's ``.htaccess``; ``more`` after it (with
    mod_headers loaded)."""
    modules = "".join(f"LoadModule {name}_module {MODULES}/mod_{name}.so\n"
                      for name in NEEDED + DEBIAN + (("headers",) if more else ()))
    # Apache will not serve as root: its workers run as nobody, who can read the site.
    user = "User #65534\nGroup #65534\n" if os.geteuid() == 0 else ""
    (prefix / "mime.types").write_text("")
    if way == "htaccess":
        (site / "feeds" / ".htaccess").write_text(guide_snippet() + more)
        inside = "AllowOverride FileInfo Indexes Options=Indexes\n"  # what the guide says
    else:
        inside = "AllowOverride None\n" + guide_snippet() + more
    return (f"ServerRoot {prefix}\nServerName 127.0.0.1\nListen 127.0.0.1:{port}\n"
            f"PidFile {prefix}/apache.pid\nDefaultRuntimeDir {prefix}\n"
            f"ErrorLog {prefix}/error.log\n{modules}{user}"
            f"TypesConfig {prefix}/mime.types\nDocumentRoot {site}\n"
            # As Debian's apache2.conf has it for /var/www.
            f"<Directory {site}>\nOptions Indexes FollowSymLinks\n</Directory>\n"
            f"<Directory {site}/feeds>\n{inside}</Directory>\n")


@pytest.fixture(scope="module", params=["directory", "htaccess"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    """(base URL of the output folder, config path) of the sample site, built and served."""
    # Not under pytest's own folder, which only its owner may enter.
    root = Path(tempfile.mkdtemp(prefix="sfb-apache-"))
    root.chmod(0o755)
    config = built_sample(root / "site")
    site = config.parent
    port = free_port()
    (root / "apache.conf").write_text(apache_conf(root, site, port, request.param))
    assert APACHE is not None
    server = subprocess.Popen([APACHE, "-f", str(root / "apache.conf"), "-DFOREGROUND"])
    try:
        log = root / "error.log"
        wait_for(server, port, lambda: log.read_text() if log.exists() else "")
        yield f"http://127.0.0.1:{port}/feeds/", config
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(root)


def test_its_own_configuration_file_is_not_served(served: Served) -> None:
    """The guide's ``.htaccess`` (or any by that name) stays private too."""
    base, config = served
    path = config.parent / "feeds" / ".htaccess"
    if not path.exists():
        path.write_text("temporary")
    assert fetch(base + ".htaccess")[0] == 404


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


HUB = "http://127.0.0.1:9/"  # nothing listens there: the build's notices fail (a warning)
LINK = re.compile(r'<([^>]*)>\s*;\s*rel="([^"]*)"')


def feed_json_links_snippet() -> str:
    """The Apache block of docs/feeds.md that gives feed.json its WebSub Link headers."""
    text = (REPO / "docs" / "feeds.md").read_text()
    for block in re.findall(r"```apache\n(.*?)```", text, re.S):
        if "feed.json" in block:
            return textwrap.dedent(block)
    raise AssertionError("no Apache snippet for feed.json's Link headers in docs/feeds.md")


@pytest.mark.parametrize("way", ["directory", "htaccess"])
def test_feed_json_names_its_hub_and_itself_in_link_headers(way: str) -> None:
    """As with nginx: each feed.json's one rel="hub" and one rel="self" header link are
    those of its JSON (``hubs``, ``feed_url``), from the snippet of docs/feeds.md."""
    root = Path(tempfile.mkdtemp(prefix="sfb-apache-"))
    root.chmod(0o755)
    try:
        site = root / "site"
        site.mkdir()
        shutil.copy(REPO / "sfb-feeds.yaml", site)
        shutil.copytree(REPO / "statements", site / "statements")
        config = site / "sfb-feeds.yaml"
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace("\nfeeds:\n", f"\nfeeds:\n  websub_hub: {HUB}\n", 1),
                          encoding="utf-8")
        assert main(["build", "--quiet", "--config", str(config), "--now", NOW],
                    out=io.StringIO(), err=io.StringIO()) == 0
        more = feed_json_links_snippet().replace("https://pubsubhubbub.appspot.com/", HUB)
        port = free_port()
        (root / "apache.conf").write_text(apache_conf(root, site, port, way, more))
        assert APACHE is not None
        server = subprocess.Popen([APACHE, "-f", str(root / "apache.conf"), "-DFOREGROUND"])
        try:
            log = root / "error.log"
            wait_for(server, port, lambda: log.read_text() if log.exists() else "")
            files = sorted((site / "feeds").glob("**/feed.json"))
            assert len(files) > 1
            for path in files:
                document = json.loads(path.read_bytes())
                url = f"http://127.0.0.1:{port}/{path.relative_to(site).as_posix()}"
                status, headers, body = fetch(url)
                assert (status, body) == (200, path.read_bytes())
                links = LINK.findall(headers.get("Link", ""))
                assert sorted(links) == sorted([(document["hubs"][0]["url"], "hub"),
                                                (document["feed_url"], "self")]), url
                assert headers["Content-Type"] == "application/feed+json; charset=utf-8"
                assert headers["Cache-Control"] == "max-age=300"
        finally:
            server.terminate()
            server.wait()
    finally:
        shutil.rmtree(root)
