"""End to end in a real browser: Debian's chromium, driven by Playwright, against the chat
serving the real embedder, index and test LLM on a loopback port.
"""

import socket
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from assistant.chat import ChatApp

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
QUESTION = "Welke drie strategieën noemen de auteurs voor bestuurders?"


@pytest.fixture(scope="module")
def server(real_assistant, real_settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = ChatApp(real_settings)
    demo = app.launch("127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture
def page(server):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "chromium is missing: `make test` installs it (apt-get install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.requested_hosts = set()
        page.on("request", lambda r: page.requested_hosts.add(urlparse(r.url).hostname))
        page.goto(server)
        page.wait_for_selector("#bron-q textarea")
        yield page
        browser.close()


def _wait_for_status(page, prefix: str, timeout_s: float = 240) -> str:
    deadline = time.monotonic() + timeout_s
    seen = set()
    while time.monotonic() < deadline:
        status = page.inner_text("#bron-status")
        seen.add(status.split("(")[0])
        if status.startswith(prefix) or "lukte niet" in status:
            return status, seen
        time.sleep(0.2)
    raise AssertionError(f"no '{prefix}' status within {timeout_s} s; last: {status!r}")


def test_model_sentence_chosen_with_the_mouse_streams_after_the_evidence(page):
    page.click("#bron-chat ~ * button:has-text('Instellingen'), button:has-text('Instellingen')")
    page.get_by_label("citaten + één zin van het model (gecontroleerd)").check()
    page.fill("#bron-q textarea", QUESTION)
    page.click("#bron-send")
    status, seen = _wait_for_status(page, "Klaar in")
    assert status.startswith("Klaar in"), status
    assert any(s.startswith("Bewijs gevonden") for s in seen), seen  # evidence shown before the model's answer
    assert any(s.startswith("Het model") for s in seen), seen  # the real LLM ran
    message = page.inner_text("#bron-chat [data-testid=bot]")
    assert "Uit de bronnen" in message and "“" in message


def test_question_asked_with_enter_shows_a_cited_answer(page, tmp_path):
    page.click("#bron-q textarea")
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")  # the keyboard alone submits, as README says
    status, seen = _wait_for_status(page, "Klaar in")
    assert status.startswith("Klaar in"), status
    assert page.input_value("#bron-q textarea") == ""  # the question went, the box is ready for the next
    message = page.inner_text("#bron-chat [data-testid=bot]")
    assert "Uit de bronnen" in message and "“" in message  # the quoted evidence is the answer
    assert "strategieën" in message

    links = page.locator("#bron-chat a.bron-cite")
    assert links.count() >= 1
    href = links.first.get_attribute("href")
    links.first.click()
    card = page.locator(f"#bron-sources {href}")
    page.wait_for_function("id => document.getElementById(id).open", arg=href[1:])
    assert "bron-active" in card.get_attribute("class")
    assert card.locator("mark").count() == 1  # the supporting sentence is highlighted inside the passage
    sources = page.inner_text("#bron-sources")
    assert "Op zoek naar nieuwe strategieën" in sources and "Uitermark" in sources and "regels" in sources
    page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
    assert (tmp_path / "chat.png").stat().st_size > 10_000

    page.get_by_role("tab", name="Documenten").click()
    page.wait_for_selector("#bron-documents details")
    documents = page.inner_text("#bron-documents")
    assert "Menging" in documents and "Recensie" in documents

    assert page.requested_hosts <= {"127.0.0.1"}, page.requested_hosts  # nothing leaves the machine


def test_empty_question_gets_a_message_and_page_keeps_working(page):
    page.click("#bron-send")
    page.wait_for_function("document.querySelector('#bron-status').innerText.includes('Typ eerst een vraag')")
    assert page.locator("#bron-chat [data-testid=bot]").count() == 0
