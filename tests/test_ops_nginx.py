"""The README's nginx snippet, run by a real nginx over a built sample site.

Every output must come back with its format's media type (the one declared in the output
table), UTF-8 for text, revalidation headers and a short max-age; the tool's dotfiles must
not be served.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import socket
import subprocess
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

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)), None)
pytestmark = pytest.mark.skipif(NGINX is None,
                                reason="nginx is not installed (apt-get install nginx-light)")
NOW = "2015-09-30T12:00:00+00:00"


def readme_snippet() -> str:
    """The nginx block of the README."""
    for name in ("README.md",):
        path = REPO / name
        if path.exists():
            for block in re.findall(r"```nginx\n(.*?)```", path.read_text(), re.S):
                if "message/rfc822" in block:
                    return block
    raise AssertionError("no nginx snippet serving .eml files in the README")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def nginx_conf(prefix: Path, site: Path, port: int) -> str:
    snippet = readme_snippet().replace("/srv/sfb", str(site))
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "".join(f"{kind}_temp_path {prefix}/{kind};\n"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/error.log;\nevents {{}}\n"
            f"http {{\naccess_log off;\n{temps}"
            f"server {{\nlisten 127.0.0.1:{port};\n{snippet}\n}}\n}}\n")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL of the output folder, config path) of the sample site, built and served."""
    root = tmp_path_factory.mktemp("nginx")
    site = root / "site"
    site.mkdir()
    shutil.copy(REPO / "sfb-feeds.yaml", site)
    shutil.copytree(REPO / "statements", site / "statements")
    config = site / "sfb-feeds.yaml"
    code = main(["build", "--quiet", "--config", str(config), "--now", NOW],
                out=io.StringIO(), err=io.StringIO())
    assert code == 0
    port = free_port()
    (root / "nginx.conf").write_text(nginx_conf(root, site, port))
    assert NGINX is not None
    server = subprocess.Popen([NGINX, "-p", str(root), "-c", str(root / "nginx.conf"),
                               "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/feeds/", config
    finally:
        server.terminate()
        server.wait()
        if server.stderr:
            server.stderr.close()


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers.items()), b""


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


@pytest.mark.parametrize("name", [".sfb-feeds-manifest.json", ".sfb-feeds.lock",
                                  "pl/.atom.xml.sfb-tmp"])
def test_the_tools_own_files_are_not_served(served: tuple[str, Path], name: str) -> None:
    base, config = served
    path = config.parent / "feeds" / name
    if not path.exists():
        path.write_text("temporary")  # as a killed run leaves it
    assert fetch(base + name)[0] == 404


def test_nginx_accepts_the_snippet_without_a_warning(tmp_path: Path) -> None:
    """``nginx -t`` over the README's snippet: syntax ok, and not one warning or error."""
    (tmp_path / "site" / "feeds").mkdir(parents=True)
    (tmp_path / "nginx.conf").write_text(nginx_conf(tmp_path, tmp_path / "site", free_port()))
    assert NGINX is not None
    checked = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c",
                              str(tmp_path / "nginx.conf")],
                             capture_output=True, text=True, timeout=60, check=False)
    said = checked.stdout + checked.stderr
    assert checked.returncode == 0, said
    assert "test is successful" in said
    complaints = [line for line in said.splitlines()
                  if re.search(r"\[(warn|error|emerg|alert|crit)\]", line)]
    assert complaints == []


@pytest.mark.parametrize("path", ["pl/atom.xml", "pl/rss.xml", "pl/feed.json", "feeds.opml",
                                  "index.html", "digests/pl/2015-W36.txt"])
def test_text_is_compressed_for_whoever_asks_and_caches_keep_the_two_apart(
        served: tuple[str, Path], path: str) -> None:
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


def test_the_operations_guide_shows_the_readmes_snippet() -> None:
    """docs/operations.md repeats the snippet: the copy is the tested one, word for word."""
    guide = (REPO / "docs" / "operations.md").read_text()
    assert readme_snippet() in re.findall(r"```nginx\n(.*?)```", guide, re.S)


def test_nothing_under_a_hidden_folder_is_served(served: tuple[str, Path]) -> None:
    """Hidden means every path with a dot-named part, even one ending in ``/rss.xml``
    (which has a location of its own): a ``.git`` or ``.old`` folder stays private."""
    base, config = served
    hidden = config.parent / "feeds" / ".old" / "pl"
    hidden.mkdir(parents=True, exist_ok=True)
    for name in ("rss.xml", "atom.xml"):
        (hidden / name).write_text("private")
        assert fetch(f"{base}.old/pl/{name}")[0] == 404, name
