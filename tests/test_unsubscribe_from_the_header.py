"""A subscriber's copy, its ``List-Unsubscribe`` link POSTed to the real server as a mail
client does (RFC 8058), and the next week's ``send``: that subscriber gets nothing more.

Everything runs as deployed: ``sfb-feeds send`` in its own process against a real SMTP server
on loopback (aiosmtpd), and ``python -m sfb_feeds.unsubscribe`` in another, reached over
HTTP. The link is the one the copy carries, not one rebuilt by the test.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
from collections import Counter
from email import message_from_bytes
from email.policy import SMTP
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from conftest import SITE_CONFIG
from smtp_faults import FaultyHandler, aiosmtpd_server
from test_unsubscribe_server import _wait_for

from sfb_feeds.suppression import load_suppressed

SECRET = "a secret of the header round trip"
RECORD = "id: urn:sfb:{n}\ntitle: T {n}\ndate: {date}\nlanguage: pl\nexcerpt: x\n"
# Odd but valid: a plus and upper case in the local part, an upper-case IDN domain.
LEAVING = "Ann.Lee+digests@XN--BCHER-KVA.example"
STAYING = ["bob@example.org", "o'neil@example.org"]


def _site(root: Path, port: int) -> Path:
    (root / "statements").mkdir(parents=True)
    for n, date in enumerate(("2015-09-04", "2015-09-11")):
        (root / "statements" / f"{n}.yaml").write_text(RECORD.format(n=n, date=date))
    (root / "pl.txt").write_text("".join(f"{a}\n" for a in [LEAVING, *STAYING]))
    config = root / "sfb-feeds.yaml"
    config.write_text(SITE_CONFIG + (
        "digests:\n  from: Digest <digest@example.org>\n"
        '  unsubscribe: "https://example.org/unsubscribe?lang={lang}&address={address}'
        '&token={token}"\n'
        "  recipients: {pl: pl.txt}\n"
        f"smtp: {{host: 127.0.0.1, port: {port}}}\nstate: state\n"))
    return config


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFB_FEEDS_")}
    return {**env, "SFB_FEEDS_UNSUBSCRIBE_SECRET": SECRET, "SFB_FEEDS_SEND_BACKOFF": "0"}


def _send(config: Path, week: str) -> str:
    done = subprocess.run([sys.executable, "-m", "sfb_feeds", "send", "--config", str(config),
                           "--week", week], env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr



def _request(port: int, method: str, target: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


def test_the_link_in_a_copy_unsubscribes_and_send_honours_it(
        tmp_path: Path, running: list[subprocess.Popen[bytes]]) -> None:
    handler = FaultyHandler(keep=True)
    with aiosmtpd_server(handler) as smtp_port:
        config = _site(tmp_path, smtp_port)
        _send(config, "2015-W36")
        copies = {recipients[0]: data for recipients, data in handler.received.messages}
        mine = copies["Ann.Lee+digests@xn--bcher-kva.example"]
        # The header as a mail provider reads it: the raw line, not a library's decoding.
        link = re.search(rb"^List-Unsubscribe: <(https://[^>\s]+)>\r$", mine, re.MULTILINE)
        post = message_from_bytes(mine, policy=SMTP)["List-Unsubscribe-Post"]
        assert link is not None and post == "List-Unsubscribe=One-Click"
        target = urlsplit(link.group(1).decode("ascii"))

        running.append(subprocess.Popen(
            [sys.executable, "-m", "sfb_feeds.unsubscribe", "--port", "0", "--config",
             str(config)], env=_env(), stderr=subprocess.PIPE))
        port = int(re.findall(r":(\d+)/", _wait_for(running[0], r"serving"))[0])
        path = f"{target.path}?{target.query}"
        # A link scanner fetching the URL unsubscribes no one; the mail client's POST does.
        assert _request(port, "GET", path) == 200
        assert load_suppressed(tmp_path / "state") == set()
        assert _request(port, "POST", path, str(post).encode(),
                        {"Content-Type": "application/x-www-form-urlencoded"}) == 200
        assert load_suppressed(tmp_path / "state") == {
            ("pl", "Ann.Lee+digests@xn--bcher-kva.example")}

        before = len(handler.received.copies)
        output = _send(config, "2015-W37")
    later = Counter(address for _, address in handler.received.copies[before:])
    assert later == Counter(STAYING), output
    assert "1 unsubscribed skipped" in output
