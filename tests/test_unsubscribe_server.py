"""The endpoint as deployed: ``python -m sfb_feeds.unsubscribe``, and ``app`` under gunicorn."""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import io
import json
import os
import random
import re
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import REPO, SITE_CONFIG

from sfb_feeds.suppression import load_suppressed
from sfb_feeds.unsubscribe import token

SECRET = "a secret only this test knows"
DEBIAN_PACKAGES = Path("/usr/lib/python3/dist-packages")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    config = tmp_path / "site" / "sfb-feeds.yaml"
    config.parent.mkdir()
    config.write_text(SITE_CONFIG + "state: private/state\n", encoding="utf-8")
    return config


def _own_key(site: Path) -> None:
    """The site names its secret's variable in its config, as send reads it."""
    with site.open("a", encoding="utf-8") as config:
        config.write("digests:\n  unsubscribe_secret_env: SITE_UNSUB_KEY\n")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFB_FEEDS_")}
    return {**env, **extra}


def _wait_for(process: subprocess.Popen[bytes], pattern: str, seconds: float = 180) -> str:
    """The first stderr line matching ``pattern``; fails with what was printed instead."""
    assert process.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + seconds  # a bound against hanging, not a timing assertion
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], deadline - time.monotonic())
        line = process.stderr.readline().decode("utf-8", "replace") if ready else ""
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if re.search(pattern, line):
            return line
    pytest.fail(f"never printed {pattern!r}; printed: {''.join(seen)}")



def _post(port: int, lang: str, address: str) -> tuple[int, bytes]:
    query = urlencode({"lang": lang, "address": address,
                       "token": token(SECRET.encode(), lang, address)})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", f"/unsubscribe?{query}", body=b"List-Unsubscribe=One-Click",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_python_m_starts_and_answers(site: Path, running: list[subprocess.Popen[bytes]]) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sfb_feeds.unsubscribe", "--host", "127.0.0.1", "--port", "0",
         "--config", str(site)],
        env=_env(SFB_FEEDS_UNSUBSCRIBE_SECRET=SECRET), stderr=subprocess.PIPE)
    running.append(process)
    line = _wait_for(process, r"serving one-click unsubscribe on http://127\.0\.0\.1:\d+/")
    port = int(re.findall(r":(\d+)/", line)[0])
    assert _post(port, "tr", "ann@example.org")[0] == 200
    assert load_suppressed(site.parent / "private" / "state") == {("tr", "ann@example.org")}
    log = _wait_for(process, r"POST")
    assert "/unsubscribe" in log and "ann" not in log and "token" not in log  # no query logged


def test_the_page_speaks_the_site_catalogs(site: Path,
                                           running: list[subprocess.Popen[bytes]]) -> None:
    _own_key(site)
    po = site.parent / "locales" / "tr" / "LC_MESSAGES" / "sfb_feeds.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "Unsubscribe"\nmsgstr "IST listesinden ayril"\n', encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "sfb_feeds.unsubscribe", "--port", "0", "--config", str(site)],
        env=_env(SITE_UNSUB_KEY=SECRET), stderr=subprocess.PIPE)
    running.append(process)
    port = int(re.findall(r":(\d+)/", _wait_for(process, r"serving"))[0])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/unsubscribe?lang=tr&address=a%40example.org&token=x")
        page = conn.getresponse().read().decode()
    finally:
        conn.close()
    title = re.findall(r"<title>(.*?)</title>", page)
    assert title == ["IST listesinden ayril"]  # the site's own label, over the shipped one


def test_python_m_names_the_missing_secret(site: Path) -> None:
    _own_key(site)
    result = subprocess.run(
        [sys.executable, "-m", "sfb_feeds.unsubscribe", "--port", "0", "--config", str(site)],
        env=_env(SFB_FEEDS_UNSUBSCRIBE_SECRET=SECRET), capture_output=True,
        text=True, timeout=60)
    assert result.returncode == 1
    assert "error: the environment variable SITE_UNSUB_KEY is not set or empty" in result.stderr


def _gunicorn_path() -> str:
    """Where the gunicorn package is: this environment, or Debian's ``apt install gunicorn``."""
    spec = importlib.util.find_spec("gunicorn")
    if spec is not None and spec.origin:
        return str(Path(spec.origin).parents[1])
    if (DEBIAN_PACKAGES / "gunicorn").is_dir():
        return str(DEBIAN_PACKAGES)
    pytest.skip("gunicorn is not installed (apt-get install gunicorn)")


# Debian's gunicorn is pure Python: run it with this interpreter, its packages after ours.
_GUNICORN = ("import sys; sys.path.append(sys.argv.pop(1)); "
             "from gunicorn.app.wsgiapp import run; sys.argv[0] = 'gunicorn'; run()")


def _start_gunicorn(site: Path, running: list[subprocess.Popen[bytes]], options: list[str],
                    **env: str) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn serving the endpoint for ``site`` on a free loopback port, once a worker
    has booted: the process and its port."""
    packages = _gunicorn_path()
    process = subprocess.Popen(
        [sys.executable, "-c", _GUNICORN, packages, "--bind", "127.0.0.1:0", *options,
         "sfb_feeds.unsubscribe:app"],
        env=_env(SFB_FEEDS_CONFIG=str(site), **env), stderr=subprocess.PIPE, cwd=site.parent)
    running.append(process)
    line = _wait_for(process, r"Listening at: http://127\.0\.0\.1:\d+")
    port = int(re.findall(r":(\d+)", line.split("Listening at:")[1])[0])
    _wait_for(process, r"Booting worker")
    return process, port


def test_app_under_gunicorn(site: Path, running: list[subprocess.Popen[bytes]]) -> None:
    _own_key(site)
    _, port = _start_gunicorn(site, running, ["--workers", "2", "--threads", "4"],
                              SITE_UNSUB_KEY=SECRET)
    addresses = [f"g{n}@example.org" for n in range(10)]
    answers = {_post(port, "el", address) for address in addresses}
    assert {status for status, _ in answers} == {200} and len(answers) == 1
    assert load_suppressed(site.parent / "private" / "state") == {("el", a) for a in addresses}


NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)), None)


def _readme_location() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    for block in re.findall(r"```nginx\n(.*?)```", text, re.S):
        if "location = /unsubscribe" in block:
            return str(block)
    raise AssertionError("no nginx snippet for /unsubscribe in the README")


def _start_nginx(prefix: Path, backend: int, running: list[subprocess.Popen[bytes]]) -> int:
    assert NGINX is not None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    snippet = _readme_location().replace("127.0.0.1:8025", f"127.0.0.1:{backend}")
    temps = "".join(f"{kind}_temp_path {prefix}/{kind};\n"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
        f"events {{}}\nhttp {{\n{temps}server {{\nlisten 127.0.0.1:{port};\n{snippet}\n}}\n}}\n")
    process = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                                "-g", "daemon off;"], stderr=subprocess.PIPE)
    running.append(process)
    for _ in range(200):  # up to ~10 s for nginx to listen
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port
        except OSError:
            assert process.poll() is None, "nginx exited"
            time.sleep(0.05)
    pytest.fail("nginx did not start")


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)")
def test_readme_nginx_location(site: Path, tmp_path: Path,
                               running: list[subprocess.Popen[bytes]]) -> None:
    backend = subprocess.Popen(
        [sys.executable, "-m", "sfb_feeds.unsubscribe", "--port", "0", "--config", str(site)],
        env=_env(SFB_FEEDS_UNSUBSCRIBE_SECRET=SECRET), stderr=subprocess.PIPE)
    running.append(backend)
    line = _wait_for(backend, r"serving one-click unsubscribe on http://127\.0\.0\.1:\d+/")
    (tmp_path / "nginx").mkdir()
    port = _start_nginx(tmp_path / "nginx", int(re.findall(r":(\d+)/", line)[0]), running)
    assert _post(port, "fa", "ann@example.org")[0] == 200
    assert load_suppressed(site.parent / "private" / "state") == {("fa", "ann@example.org")}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/unsubscribe?lang=fa", body=b"x" * 9000)
        assert conn.getresponse().status == 413  # nginx refuses it before the endpoint
    finally:
        conn.close()


def test_app_without_config_answers_500_and_logs_why(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from sfb_feeds.unsubscribe import app

    monkeypatch.setenv("SFB_FEEDS_CONFIG", str(tmp_path / "missing.yaml"))
    errors = io.StringIO()
    statuses: list[str] = []
    environ = {"REQUEST_METHOD": "POST", "QUERY_STRING": "", "wsgi.errors": errors,
               "wsgi.input": io.BytesIO(b"List-Unsubscribe=One-Click"), "CONTENT_LENGTH": "26"}
    body = b"".join(app(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["500 Internal Server Error"] and b"not configured" in body
    assert "missing.yaml: cannot read the config" in errors.getvalue()
    assert not (tmp_path / ".sfb-state").exists()


def test_a_list_that_cannot_be_written_is_a_503_logged_without_the_query(
        site: Path, running: list[subprocess.Popen[bytes]]) -> None:
    """A full disk or an unwritable state folder: the provider is told to try again later
    (never "Done"), and gunicorn's error log gets one line naming the list and why, not a
    traceback under the request's query (the address and its token)."""
    (site.parent / "private").write_text("a file where the state folder's parent goes\n")
    process, port = _start_gunicorn(site, running, ["--workers", "1"],
                                    SFB_FEEDS_UNSUBSCRIBE_SECRET=SECRET)
    query = urlencode({"lang": "pl", "address": "ann@example.org",
                       "token": token(SECRET.encode(), "pl", "ann@example.org")})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", f"/unsubscribe?{query}", body=b"List-Unsubscribe=One-Click",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        answer = (response.status, response.getheader("Retry-After"), response.read())
    finally:
        conn.close()
    assert answer == (503, "300", b"The request could not be recorded; try again later.\n")
    process.terminate()
    _, log = process.communicate(timeout=30)
    listed = site.parent / "private" / "state" / "suppressed.jsonl"
    problems = [text for text in log.decode().splitlines() if "sfb-feeds" in text
                or "Traceback" in text or "ann" in text or "token" in text]
    assert problems == [f"sfb-feeds unsubscribe: {listed}: cannot add to the suppression list: "
                        "Not a directory"]


@contextlib.contextmanager
def quick_start_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """``python -m sfb_feeds.unsubscribe``'s server, in a thread, its read timeout
    (READ_TIMEOUT, 30 s) shortened to 0.5 s: its port."""
    import threading

    from sfb_feeds import unsubscribe

    monkeypatch.setattr(unsubscribe, "READ_TIMEOUT", 0.5)
    endpoint = unsubscribe.make_app(tmp_path / "state", SECRET.encode())
    server = unsubscribe.make_server("127.0.0.1", 0, endpoint, unsubscribe._Server,
                                     unsubscribe._Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_quick_start_server_closes_a_silent_connection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A client that connects and sends nothing no longer holds a thread forever: after
    READ_TIMEOUT seconds (30; shortened here) the server closes the connection, logs one
    line without the client's address, and goes on answering."""
    with quick_start_server(tmp_path, monkeypatch) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as idle:
            assert idle.recv(1) == b""  # closed by the server (30 s: a bound, not a timing)
        assert _post(port, "pl", "ann@example.org")[0] == 200
    err = capsys.readouterr().err
    assert "request timed out" in err
    assert "Traceback" not in err and "127.0.0.1" not in err


def test_quick_start_server_answers_a_body_that_stops_arriving_with_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A client that sends its headers and then stalls mid-body (Content-Length promises
    more than it sends) is answered 408 once READ_TIMEOUT (shortened here) passes, and the
    log gets one line naming the failure: no traceback, no query (address, token)."""
    query = urlencode({"lang": "pl", "address": "ann@example.org",
                       "token": token(SECRET.encode(), "pl", "ann@example.org")})
    with quick_start_server(tmp_path, monkeypatch) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(f"POST /unsubscribe?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Type: application/x-www-form-urlencoded\r\n"
                           "Content-Length: 26\r\n\r\nList-Unsub".encode("ascii"))
            answer = b""
            while chunk := client.recv(65536):  # until the server closes (30 s: a bound)
                answer += chunk
        assert answer.startswith(b"HTTP/1.0 408 Request Timeout\r\n")
        assert _post(port, "pl", "ann@example.org")[0] == 200
    assert load_suppressed(tmp_path / "state") == {("pl", "ann@example.org")}  # the 2nd POST
    err = capsys.readouterr().err
    assert "Traceback" not in err and "ann@" not in err and "token" not in err
    assert [line for line in err.splitlines() if not line.startswith('"POST /unsubscribe" ')
            ] == ["sfb-feeds unsubscribe: the request's body stopped arriving before its "
                  "Content-Length (26 bytes): the read timed out; answered 408 Request Timeout"]
    assert '"POST /unsubscribe" 408 ' in err  # the request's own line: path and status


def _chunked_post(port: int, query: str, chunks: list[bytes]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", f"/unsubscribe?{query}", body=iter(chunks), encode_chunked=True,
                     headers={"Content-Type": "application/x-www-form-urlencoded",
                              "Transfer-Encoding": "chunked"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_python_m_reads_a_chunked_body(site: Path, running: list[subprocess.Popen[bytes]]
                                       ) -> None:
    """HTTP/1.1 lets a client send its body in chunks, without Content-Length; wsgiref
    hands such a body over undecoded. The quick-start server reads it: a chunked one-click
    POST unsubscribes, a chunked body over 8 KB is refused (413), a malformed one is not an
    unsubscribe request (400). Before, every chunked body read as empty: the valid request
    was answered 400 'This is not an unsubscribe request' and nobody was unsubscribed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sfb_feeds.unsubscribe", "--port", "0", "--config", str(site)],
        env=_env(SFB_FEEDS_UNSUBSCRIBE_SECRET=SECRET), stderr=subprocess.PIPE)
    running.append(process)
    line = _wait_for(process, r"serving one-click unsubscribe on http://127\.0\.0\.1:\d+/")
    port = int(re.findall(r":(\d+)/", line)[0])
    state = site.parent / "private" / "state"

    def query(address: str) -> str:
        return urlencode({"lang": "de", "address": address,
                          "token": token(SECRET.encode(), "de", address)})

    assert _chunked_post(port, query("big@example.org"), [b"x" * 5000] * 2)[0] == 413
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(f"POST /unsubscribe?{query('bad@example.org')} HTTP/1.1\r\n"
                       "Host: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".encode())
        assert client.recv(64).startswith(b"HTTP/1.0 400 ")
    assert load_suppressed(state) == set()
    status, _ = _chunked_post(port, query("ann@example.org"),
                              [b"List-Unsubscribe", b"=One-", b"Click"])
    assert status == 200
    assert load_suppressed(state) == {("de", "ann@example.org")}


def test_two_servers_under_a_burst_record_each_address_once(
        site: Path, running: list[subprocess.Popen[bytes]]) -> None:
    """Two endpoint processes (as two workers of a WSGI server) share a list of 20,000
    entries; a burst of one-click POSTs, each new address sent twice (once to each
    process) and listed addresses replayed, all at once: every new address is recorded
    exactly once, nothing listed is added again, and the listed lines are kept as they
    were (append only)."""
    state = site.parent / "private" / "state"
    state.mkdir(parents=True)
    listed = b"".join(json.dumps({"address": f"old{n}@example.org", "at": "2026-12-01T00:00:00Z",
                                  "lang": "pl", "source": "one-click"}).encode() + b"\n"
                      for n in range(20_000))
    (state / "suppressed.jsonl").write_bytes(listed)
    ports = []
    for _ in range(2):
        process = subprocess.Popen(
            [sys.executable, "-m", "sfb_feeds.unsubscribe", "--port", "0", "--config", str(site)],
            env=_env(SFB_FEEDS_UNSUBSCRIBE_SECRET=SECRET), stderr=subprocess.PIPE)
        running.append(process)
        line = _wait_for(process, r"serving one-click unsubscribe on http://127\.0\.0\.1:\d+/")
        ports.append(int(re.findall(r":(\d+)/", line)[0]))
    new = [f"new{n}@example.org" for n in range(30)]
    requests = [(port, "pl", address) for address in new for port in ports]
    requests += [(ports[n % 2], "pl", f"old{n * 600}@example.org") for n in range(30)]
    random.Random(8058).shuffle(requests)
    with ThreadPoolExecutor(len(requests)) as pool:
        statuses = list(pool.map(lambda request: _post(*request)[0], requests))
    assert statuses == [200] * len(requests)
    data = (state / "suppressed.jsonl").read_bytes()
    assert data.startswith(listed)
    added = [json.loads(line) for line in data[len(listed):].splitlines(keepends=True)
             if line.endswith(b"\n")]
    assert sorted(row["address"] for row in added) == sorted(new)
    assert data.count(b"\n") == 20_030 and data.endswith(b"\n")
    assert load_suppressed(state) == {("pl", f"old{n}@example.org") for n in range(20_000)} | {
        ("pl", address) for address in new}
