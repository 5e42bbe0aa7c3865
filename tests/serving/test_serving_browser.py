"""The web page of ``tweetsent serve``, driven in headless Chromium (Debian's ``chromium``).

Under ``slow`` (a browser start and page renders); CI runs it as a step of its own. The fast
counterpart in the default suite is test_serving's page test: the page, its elements, no
outside URLs and no HTML sinks for the tweets, checked over HTTP.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or next(
        (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None
    )
    if path is None:
        message = "chromium not found; install it with: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {message}")
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def page(tiny_server):
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium_path()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 900, "height": 1000})
        page.requested = []  # every URL the page asks for: all must be this server's
        page.on("request", lambda request: page.requested.append(request.url))
        page.goto(tiny_server.url)
        yield page
        browser.close()


def classify(page, text: str) -> None:
    page.fill("#tweets", text)
    page.click("#classify")
    page.wait_for_function("!document.querySelector('#classify').disabled")


def test_page_shows_the_label_and_a_bar_per_label(page, tiny_server, tmp_path):
    tweets = ["love great wonderful day", "hate awful terrible queue"]
    info = httpx.get(f"{tiny_server.url}/model").json()
    page.wait_for_function("document.querySelector('#model-info').textContent.includes('labels')")
    assert info["backbone"] in page.text_content("#model-info")

    classify(page, "\n".join(tweets) + "\n\n")  # blank lines are skipped

    results = page.locator(".result")
    assert results.count() == 2
    api = httpx.post(f"{tiny_server.url}/predict", json={"texts": tweets}).json()
    for i, (tweet, expected) in enumerate(zip(tweets, api["predictions"], strict=True)):
        result = results.nth(i)
        assert result.locator(".tweet").text_content() == tweet
        assert result.locator(".result-label").text_content() == expected["label"]
        bars = result.locator(".bar-row")
        assert bars.count() == len(api["labels"])
        shown = [bars.nth(j).get_attribute("data-label") for j in range(bars.count())]
        assert shown == api["labels"]
        probabilities = [
            float(bars.nth(j).get_attribute("data-probability")) for j in range(bars.count())
        ]
        assert sum(probabilities) == pytest.approx(1, abs=1e-3)
        assert probabilities == pytest.approx(expected["probabilities"], abs=0.02)
        # Each bar is drawn as wide as its probability.
        for j, p in enumerate(probabilities):
            track = bars.nth(j).locator(".bar-track").bounding_box()["width"]
            fill = bars.nth(j).locator(".bar-fill").bounding_box()["width"]
            assert fill == pytest.approx(max(p * track, 2), abs=2)
        top = result.locator(".bar-row.top")
        assert top.get_attribute("data-label") == expected["label"]
    assert page.is_hidden("#error")
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)


def test_page_shows_tweets_as_text_never_as_html(page):
    classify(page, '<img src=x onerror="window.pwned=1"> <b>bold</b>')
    assert page.locator(".result .tweet").text_content().startswith("<img src=x")
    assert page.locator(".result .tweet img").count() == 0
    assert page.evaluate("window.pwned === undefined")


def test_page_shows_the_services_errors(page, tiny_server):
    classify(page, "   ")
    assert page.is_visible("#error")
    assert "Type a tweet" in page.text_content("#error")

    max_texts = httpx.get(f"{tiny_server.url}/model").json()["limits"]["max_texts"]
    classify(page, "\n".join(f"tweet {i}" for i in range(max_texts + 1)))
    assert page.is_visible("#error")
    assert f"too many texts ({max_texts + 1})" in page.text_content("#error")


def label_file(page, path: Path, text_col: str = "") -> None:
    page.set_input_files("#file", str(path))
    page.fill("#text-col", text_col)
    page.click("#upload")
    page.wait_for_function("!document.querySelector('#upload').disabled")


def test_page_labels_an_uploaded_file_as_predict_input_does(page, run_cli, _tiny_run, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("id,tweet\n1,love great wonderful day\n2,hate awful queue\n", "utf-8")
    expected = tmp_path / "cli.csv"
    assert (
        run_cli("predict", _tiny_run, "--input", path, "--output", expected, "--text-col", "tweet")[
            0
        ]
        == 0
    )

    label_file(page, path, "tweet")

    assert page.is_hidden("#file-error")
    assert page.text_content("#file-summary") == "2 rows labelled."
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == "mine-labelled.csv"
    assert Path(download.value.path()).read_bytes() == expected.read_bytes()


def test_page_shows_the_upload_errors(page, tmp_path):
    page.set_input_files("#file", [])
    page.click("#upload")
    assert page.text_content("#file-error") == "Choose a file first."

    path = tmp_path / "mine.csv"
    path.write_text("id,tweet\n1,hello\n", "utf-8")
    label_file(page, path)  # no text column given: the run's, 'text'
    assert page.is_visible("#file-error") and page.is_hidden("#file-result")
    assert "mine.csv: no column 'text'" in page.text_content("#file-error")
    assert "text_col field" in page.text_content("#file-error")


def test_page_and_api_docs_need_nothing_but_this_server(page, tiny_server):
    page.goto(f"{tiny_server.url}/docs")
    page.wait_for_selector("text=/predict", timeout=30_000)  # Swagger UI rendered the API
    assert page.locator(".opblock").count() == 4  # predict, predict-file, health, model
    page.goto(tiny_server.url)
    page.wait_for_function("document.querySelector('#model-info').textContent.includes('labels')")
    # blob: URLs are the labelled files the page made downloadable, from this server's answers
    here = [url.removeprefix("blob:") for url in page.requested]
    assert [url for url in here if not url.startswith(tiny_server.url)] == []
