"""The answers state the controller's facts from the policy file only, and that file quotes the
privacy policy word for word; the Swedish answers are in Swedish."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from app.answers import policy, report
from app.connectors import base
from app.models import TaskStatus
from tests.responses.conftest import (
    PROVIDED,
    access_behaviours,
    connectors,
    download,
    finish,
    link,
)
from tests.responses.test_report_browser import CHROMIUM, _chromium, _visible_text

FACT_SECTIONS = ("purposes", "recipients", "sources", "third-countries", "automated",
                 "controller")


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _entries() -> list[tuple[str, dict[str, Any]]]:
    facts = policy.facts()
    found = [("controller", facts["controller"])]
    for key in ("categories", "recipients", "sources"):
        found += [(key, entry) for entry in facts[key]]
    for key in ("recipients_note", "authorities", "transfers", "automated"):
        found.append((key, facts[key]))
    found += [(f"bases.{code}", entry) for code, entry in facts["bases"].items()]
    return found


def test_every_fact_quotes_the_privacy_policy() -> None:
    text = _normal(policy.policy_text())
    for name, entry in _entries():
        for quote in entry["quote"]:
            assert _normal(quote) in text, (name, quote)
        for heading in entry["cite"]:
            assert heading in text, (name, heading)
        assert entry["quote"], f"{name} cites nothing from the policy"


def test_silence_is_filled_by_a_decision_marked_for_the_privacy_officer() -> None:
    """Every category states a legal basis (art. 13/15); where the policy names none, the
    entry holds a decision and is marked for the privacy officer to confirm. Art. 15(1)(h)
    is answered, never deferred to "ask us"."""
    facts = policy.facts()
    for category in facts["categories"]:
        for language in ("sv", "en"):
            assert re.search(r"art(\.|icle) 6", category["basis"][language], re.I), category
        assert "anger ingen särskild rättslig grund" not in category["basis"]["sv"]
    open_decisions = sorted(c["code"] for c in facts["categories"] if "decision" in c)
    assert open_decisions == ["credit_check", "support", "traffic_data"]
    assert all(c["confirm"] == "privacy officer" for c in facts["categories"] if "decision" in c)
    automated = facts["automated"]
    assert automated["confirm"] == "privacy officer" and "fråga oss" not in automated["sv"]
    assert "UC" in automated["sv"] and "enbart grundas på automatiserad" in automated["sv"]
    transfers = facts["transfers"]["sv"]
    assert transfers.startswith("Om vi skulle behöva")  # a condition, not "we never transfer"


class _Cells(HTMLParser):
    """The texts of the fact sections' cells, list items, paragraphs and address lines."""

    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.depth = 0
        self.capture: str | None = None
        self.buffer = ""
        self.found: dict[str, list[str]] = {}
        self.header = False
        self.address = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section" and values.get("id") in FACT_SECTIONS:
            self.section, self.depth = values["id"], 0
        if self.section is None:
            return
        if tag == "thead":
            self.header = True
        if tag in ("td", "th", "li", "p") and not self.header:
            self.capture, self.buffer = tag, ""
        if tag == "address":
            self.address, self.buffer = True, ""
        if tag == "br" and self.address:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if self.section is None:
            return
        if tag == "thead":
            self.header = False
        if tag == self.capture:
            self._flush()
            self.capture = None
        if tag == "address":
            self._flush()
            self.address = False
        if tag == "section":
            self.section = None

    def handle_data(self, data: str) -> None:
        if self.section is not None and (self.capture or self.address) and not self.header:
            self.buffer += data

    def _flush(self) -> None:
        text = _normal(self.buffer)
        if text and self.section is not None:
            self.found.setdefault(self.section, []).append(text)
        self.buffer = ""


@pytest.mark.parametrize("language", ["sv", "en"])
async def test_every_fact_in_the_access_report_comes_from_the_policy_file(  # type: ignore[no-untyped-def]
    app, client, portal, agent, language
) -> None:
    await link(client, agent, "C-1001", "fortnox", "1001")
    body = await finish(app, client, portal, {"type": "access", "language": language},
                        connectors(**access_behaviours()))
    html = (await download(client, portal, body["id"])).read("report.html").decode()
    cells = _Cells()
    cells.feed(html)
    assert set(cells.found) == set(FACT_SECTIONS), cells.found.keys()
    allowed = {_normal(text) for text in policy.sentences(language)}
    # The letter's own sentences (each rendered only where its guard holds) name who holds
    # the data; they are the letter's, not the policy's, and are matched by their template.
    letter = [re.compile(re.escape(_normal(str(text))).replace(r"\{systems\}", ".+") + "$")
              for key, text in report.texts(language)["letter"].items()
              if key.startswith("access.recipients")]
    unsourced = [(section, text) for section, texts in cells.found.items() for text in texts
                 if text not in allowed and not any(p.match(text) for p in letter)]
    assert unsourced == []
    # and the recipients are this customer's: Fortnox holds data, the others do not
    assert policy.for_language(language)["recipients"]["fortnox"]["name"] in \
        cells.found["recipients"]


# English words that must not appear in a Swedish answer outside proper names and data.
ENGLISH = ("the", "and", "of", "was", "were", "is", "are", "has", "been", "customer",
           "contract", "erased", "kept", "invoices", "record", "force", "anonymised", "active",
           "ended", "marketing", "self", "call", "by", "with", "from", "this", "partner",
           "retained", "done", "unpaid", "summary", "request", "direct", "in/out", "outgoing",
           "directory", "listing", "ordered", "activated", "speed", "change", "terminated")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                    "(Debian: apt-get install -y chromium)")
@pytest.mark.parametrize("body", [
    {"type": "access", "language": "sv"},
    {"type": "erasure", "language": "sv"},
    {"type": "objection", "language": "sv", "details": {"processing": "direct_marketing",
                                                         "unlist": True}},
    {"type": "restriction", "language": "sv", "details": {"grounds": "accuracy_contested"}},
    {"type": "portability", "language": "sv"},
])
async def test_swedish_answers_have_no_english_in_chromium(  # type: ignore[no-untyped-def]
    app, client, portal, agent, tmp_path: Path, body
) -> None:
    await link(client, agent, "C-1001", "fortnox", "1001")
    await link(client, agent, "C-1001", "eniro", "HIT-7K2P9Q")
    kept = base.Retained("invoices", "Bokföringslagen", "2033-12-31", "invoices", "bookkeeping")
    behaviours = {**access_behaviours()} if body["type"] == "access" else {
        "crm": lambda call: base.done("Exported.", PROVIDED)} if body["type"] == "portability" \
        else {
        "fortnox": lambda call: base.Outcome(TaskStatus.retained, "Card anonymised.",
                                             retained=(kept,), code="fortnox_anonymised")}
    made = connectors(**behaviours)
    finished = await finish(app, client, portal, body, made)
    package = await download(client, portal, finished["id"])
    page = tmp_path / "report.html"
    page.write_bytes(package.read("report.html"))
    result = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    text = _visible_text(result.stdout)
    for name in ("Fortnox Finans", "Eniro/Hitta", "Connect2IP", "www.connect2ip.se",
                 "info@connect2ip.se", "imy@imy.se", "www.imy.se", "(true/false)", "true/false"):
        text = text.replace(name, " ")
    text = re.sub(r"\S+\.(csv|json|jsonl)\b", " ", text)  # file names are names
    if body["type"] == "portability":  # the CSV column names are the files' own names
        text = re.sub(r"\b\w+_\w+\b", " ", text)
    words = set(re.findall(r"[A-Za-zÅÄÖåäö/]+", text))
    assert sorted(words & set(ENGLISH)) == []
    assert re.search(r"\b1 rader\b", text) is None
    assert " UTC" not in text
    if body["type"] == "access":
        assert "399,00 kr" in text and "Utgående" in text and "Aktivt" in text
    json.dumps(finished)  # the request itself stays serialisable
