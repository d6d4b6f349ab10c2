"""The access report in a real browser: headless Chromium renders it offline.

Needs Debian's ``chromium`` (CI installs it: ``apt-get install -y chromium``). The page is
rendered from a file with networking in the browser disabled as far as flags allow, and its
dumped DOM is checked for the visible headings, recipients and the IMY text; the HTML itself
must reference nothing outside the file.
"""

from __future__ import annotations

import html as html_lib
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from tests.responses.conftest import access_behaviours, connectors, download, finish, link

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install -y chromium)",
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--disable-extensions", "--mute-audio"]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=90, check=False,
    )


class RecordingProxy:
    """A proxy that answers nothing and writes down every request Chromium sends through it.

    Chromium is pointed at it for all traffic (loopback included), so anything the page tries
    to load from outside the file shows up here.
    """

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    first = "(unreadable)"
                self.requests.append(first)
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")

    def page_requests(self) -> list[str]:
        """What was asked for, less Chromium's own calls home (time, updates, accounts)."""
        return [line for line in self.requests
                if not re.search(r"\b[\w.-]*(google\.com|googleapis\.com|gvt1\.com)\b", line)]

    def flags(self) -> list[str]:
        return [f"--proxy-server=http://127.0.0.1:{self.port}", "--proxy-bypass-list=<-loopback>"]

    def close(self) -> None:
        self._server.close()


def _visible_text(dom: str) -> str:
    body = re.sub(r"<(style|script)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", html_lib.unescape(body))


@pytest.mark.parametrize("language", ["sv", "en"])
async def test_access_report_renders_in_chromium(
    app, client, portal, agent, tmp_path: Path, language: str
) -> None:  # type: ignore[no-untyped-def]
    await link(client, agent, "C-1001", "fortnox", "1001")
    body = await finish(app, client, portal, {"type": "access", "language": language},
                        connectors(**access_behaviours()))
    package = await download(client, portal, body["id"])
    report = tmp_path / "report.html"
    report.write_bytes(package.read("report.html"))
    source = report.read_text()

    # Nothing external: no http(s) or protocol-relative src/href/url(), no @import, and a CSP
    # that would block anything that slipped through.
    assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", source, re.I)
    assert not re.search(r"url\(|@import|<script|<link|<iframe|<img", source, re.I)
    assert "default-src 'none'" in source

    control = RecordingProxy()
    try:
        # Control: the proxy does see a page that loads something from outside...
        leaky = tmp_path / "leaky.html"
        leaky.write_text('<html><body><img src="http://assets.example.test/logo.png"></body>')
        _chromium(tmp_path, *control.flags(), "--dump-dom", leaky.as_uri())
        assert any("assets.example.test" in line for line in control.requests), control.requests
    finally:
        control.close()
    # ...and a proxy of its own sees nothing at all from the report (a fresh one: a connection
    # the control page's browser left open could otherwise land in this run's list).
    proxy = RecordingProxy()
    try:
        result = _chromium(tmp_path, *proxy.flags(), "--dump-dom", report.as_uri())
    finally:
        proxy.close()
    assert result.returncode == 0, result.stderr[-2000:]
    assert proxy.page_requests() == [], f"the report loaded something: {proxy.page_requests()}"
    text = _visible_text(result.stdout)
    expected = {
        "sv": ["Registerutdrag: dina personuppgifter hos Connect2IP",
               "Dina personuppgifter, system för system", "Mottagare av dina uppgifter",
               "Fortnox Finans", "polisen och SOS Alarm", "Klagomål till Integritetsskyddsmyndigheten (IMY)",
               "Box 8114", "imy@imy.se", "Dina rättigheter"],
        "en": ["Copy of your personal data held by Connect2IP",
               "Your personal data, system by system", "Recipients of your data",
               "Fortnox Finans", "the police and SOS Alarm",
               "Complaints to the Swedish Authority for Privacy Protection (IMY)",
               "Box 8114", "imy@imy.se", "Your rights"],
    }[language]
    for phrase in expected:
        assert phrase in text, phrase

    shot = tmp_path / "report.png"
    printed = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1000,1400",
                        report.as_uri())
    assert printed.returncode == 0, printed.stderr[-2000:]
    assert shot.stat().st_size > 10_000  # something was painted
    pdf = tmp_path / "report.pdf"
    _chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", report.as_uri())
    assert pdf.read_bytes()[:5] == b"%PDF-"  # it prints
