"""The README's nginx snippet, run by a real nginx over a built sample site.

Every output must come back with its format's media type (the one declared in the output
table), UTF-8 for text, revalidation headers and a short max-age, text compressed with
``Vary: Accept-Encoding``; nothing under a dot-named file or folder may be served, and no
folder listed (tests/served_promises.py, shared with the Apache snippet's tests).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO
from served_promises import (  # noqa: F401  (the shared promises, run against nginx)
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

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)), None)
pytestmark = pytest.mark.skipif(NGINX is None,
                                reason="nginx is not installed (apt-get install nginx-light)")


def readme_snippet() -> str:
    """The nginx block of the README."""
    for name in ("README.md",):
        path = REPO / name
        if path.exists():
            for block in re.findall(r"```nginx\n(.*?)```", path.read_text(), re.S):
                if "message/rfc822" in block:
                    return block
    raise AssertionError("no nginx snippet serving .eml files in the README")


def nginx_conf(prefix: Path, site: Path, port: int, inner: str = "") -> str:
    """nginx.conf serving the README's snippet, ``inner`` added inside its location last."""
    snippet = readme_snippet().replace("/srv/sfb", str(site))
    snippet = snippet.rstrip().removesuffix("}") + inner + "}\n"
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "".join(f"{kind}_temp_path {prefix}/{kind};\n"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/error.log;\nevents {{}}\n"
            f"http {{\naccess_log off;\n{temps}"
            f"server {{\nlisten 127.0.0.1:{port};\n{snippet}\n}}\n}}\n")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """(base URL of the output folder, config path) of the sample site, built and served."""
    root = tmp_path_factory.mktemp("nginx")
    config = built_sample(root / "site")
    port = free_port()
    (root / "nginx.conf").write_text(nginx_conf(root, config.parent, port))
    assert NGINX is not None
    server = subprocess.Popen([NGINX, "-p", str(root), "-c", str(root / "nginx.conf"),
                               "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        wait_for(server, port, lambda: server.stderr.read().decode() if server.stderr else "")
        yield f"http://127.0.0.1:{port}/feeds/", config
    finally:
        server.terminate()
        server.wait()
        if server.stderr:
            server.stderr.close()


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


def test_the_operations_guide_shows_the_readmes_snippet() -> None:
    """docs/operations.md repeats the snippet: the copy is the tested one, word for word."""
    guide = (REPO / "docs" / "operations.md").read_text()
    assert readme_snippet() in re.findall(r"```nginx\n(.*?)```", guide, re.S)


HUB = "http://127.0.0.1:9/"  # nothing listens there: the build's notices fail (a warning)
LINK = re.compile(r'<([^>]*)>\s*;\s*rel="([^"]*)"')


def feed_json_links_snippet() -> str:
    """The nginx block of docs/feeds.md that gives feed.json its WebSub Link headers."""
    for block in re.findall(r"```nginx\n(.*?)```", (REPO / "docs" / "feeds.md").read_text(),
                            re.S):
        if "feed\\.json" in block:
            return textwrap.dedent(block)
    raise AssertionError("no nginx snippet for feed.json's Link headers in docs/feeds.md")


def test_feed_json_names_its_hub_and_itself_in_link_headers(tmp_path: Path) -> None:
    """WebSub discovers a hub from Link headers, or from links embedded in XML and HTML:
    feed.json's hub is in headers, as the snippet of docs/feeds.md sends them, each file's
    one rel="hub" and one rel="self" those of its JSON (``hubs``, ``feed_url``)."""
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(REPO / "sfb-feeds.yaml", site)
    shutil.copytree(REPO / "statements", site / "statements")
    config = site / "sfb-feeds.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("\nfeeds:\n", f"\nfeeds:\n  websub_hub: {HUB}\n", 1),
                      encoding="utf-8")
    assert main(["build", "--quiet", "--config", str(config), "--now", NOW],
                out=io.StringIO(), err=io.StringIO()) == 0
    inner = feed_json_links_snippet().replace("https://pubsubhubbub.appspot.com/", HUB)
    port = free_port()
    (tmp_path / "nginx.conf").write_text(nginx_conf(tmp_path, site, port, inner))
    assert NGINX is not None
    server = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                               "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        wait_for(server, port, lambda: server.stderr.read().decode() if server.stderr else "")
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
            assert document["hubs"][0]["url"] == HUB
            assert headers["Content-Type"] == "application/feed+json; charset=utf-8"
            assert headers["Cache-Control"] == "max-age=300"
    finally:
        server.terminate()
        server.wait()
        if server.stderr:
            server.stderr.close()
