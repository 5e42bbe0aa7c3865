"""The HTTP service: a real ``tweetsent serve`` process on a loopback port, spoken to over HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import numpy as np
import pytest

from tweetsent.cli import main
from tweetsent.errors import ConfigError
from tweetsent.inference import TweetClassifier
from tweetsent.serving.batching import Closed, MicroBatcher, Overloaded
from tweetsent.serving.settings import ServeConfig

TWEETS = [
    "love great day 3",
    "hate awful day 7",
    "museum opens tuesday",
    "what a wonderful amazing exhibition",
    "terrible horrible furious",
    "ticket schedule day 12",
]


@pytest.fixture(scope="module")
def classifier(_tiny_run) -> TweetClassifier:
    return TweetClassifier.load(_tiny_run)


@pytest.fixture(scope="module")
def limits(tiny_server) -> dict:
    return httpx.get(f"{tiny_server.url}/model").json()["limits"]


def post(url: str, **kwargs) -> httpx.Response:
    return httpx.post(f"{url}/predict", timeout=30, **kwargs)


# --- the happy path -------------------------------------------------------------------------


def test_predict_gives_each_text_its_label_and_every_probability(tiny_server, classifier):
    response = post(tiny_server.url, json={"texts": TWEETS})

    assert response.status_code == 200
    body = response.json()
    assert body["labels"] == classifier.labels
    expected = classifier.predict_proba(TWEETS)
    assert len(body["predictions"]) == len(TWEETS)
    for prediction, row in zip(body["predictions"], expected, strict=True):
        proba = np.array(prediction["probabilities"])
        assert proba.shape == (len(classifier.labels),)
        assert proba.sum() == pytest.approx(1, abs=1e-4)
        assert prediction["label"] == body["labels"][int(proba.argmax())]
        assert prediction["score"] == pytest.approx(proba.max())
        # The service calls the same predictor as the CLI and the Python API.
        np.testing.assert_allclose(proba, row, atol=0.02)


def test_model_describes_labels_backbone_training_and_limits(tiny_server, _tiny_run, classifier):
    info = httpx.get(f"{tiny_server.url}/model").json()
    metrics = json.loads((_tiny_run / "metrics.json").read_text())

    assert info["labels"] == classifier.labels == metrics["labels"]
    assert info["backbone"] == metrics["model"]
    assert info["backend"] == "torch"
    assert info["training"]["best_epoch"] == metrics["best_epoch"]
    assert info["training"]["validation"]["f1_weighted"] == metrics["validation"]["f1_weighted"]
    assert info["limits"]["max_texts"] == 8
    assert info["limits"]["max_text_chars"] == 200
    assert info["limits"]["max_body_bytes"] == 4096


def test_health_docs_and_page(tiny_server):
    health = httpx.get(f"{tiny_server.url}/health").json()
    assert health["status"] == "ok"
    assert set(health["batching"]) >= {"requests", "texts", "batches", "largest_batch"}

    docs = httpx.get(f"{tiny_server.url}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert "cdn" not in docs.text  # the Swagger UI files come from this server
    schema = httpx.get(f"{tiny_server.url}/openapi.json").json()
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["texts"]["maxItems"] == 8

    page = httpx.get(tiny_server.url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for element in ("tweets", "classify", "model-info", "error"):  # what the page script uses
        assert f'id="{element}"' in page.text, element
    # No external assets: everything the page needs comes from this server.
    assert "http://" not in page.text and "https://" not in page.text
    # Tweets reach the page as text only (the browser test, under slow, shows it in Chromium).
    for html_sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert html_sink not in page.text, html_sink


def test_concurrent_requests_share_batches_and_each_gets_its_own_answer(tiny_server, classifier):
    texts = [f"{TWEETS[i % len(TWEETS)]} {i}" for i in range(24)]
    before = httpx.get(f"{tiny_server.url}/health").json()["batching"]

    async def send_all():
        async with httpx.AsyncClient(base_url=tiny_server.url, timeout=30) as client:
            return await asyncio.gather(
                *(client.post("/predict", json={"texts": [t]}) for t in texts)
            )

    responses = asyncio.run(send_all())

    after = httpx.get(f"{tiny_server.url}/health").json()["batching"]
    assert [r.status_code for r in responses] == [200] * len(texts)
    got = np.array([r.json()["predictions"][0]["probabilities"] for r in responses])
    np.testing.assert_allclose(got, classifier.predict_proba(texts), atol=0.02)
    assert after["requests"] - before["requests"] == len(texts)
    assert after["batches"] - before["batches"] < len(texts)
    assert after["largest_batch"] > 1


# --- bad input: a 4xx JSON answer with a one-line message, never a 500 -----------------------

JSON = {"Content-Type": "application/json"}


def bad_requests(limits: dict) -> list[tuple[str, dict, int, str]]:
    too_many = {"texts": ["hi"] * (limits["max_texts"] + 1)}
    too_long = {"texts": ["ok", "x" * (limits["max_text_chars"] + 1)]}
    big = json.dumps({"texts": ["y" * 100] * 60}).encode()
    assert len(big) > limits["max_body_bytes"]

    def chunked():  # no Content-Length: the server must count as the body arrives
        for start in range(0, len(big), 512):
            yield big[start : start + 512]

    return [
        ("too many texts", {"json": too_many}, 422, "too many texts (9)"),
        ("text too long", {"json": too_long}, 422, "texts[1]: text too long"),
        ("body too large", {"content": big, "headers": JSON}, 413, "too large"),
        ("body too large, chunked", {"content": chunked(), "headers": JSON}, 413, "too large"),
        ("texts not a list", {"json": {"texts": "hello"}}, 422, "texts: must be a list"),
        ("a number among texts", {"json": {"texts": ["a", 3]}}, 422, "texts[1]: must be a string"),
        ("null text", {"json": {"texts": [None]}}, 422, "texts[0]: must be a string"),
        # Blank after removing invisible characters is blank (hostile run, D5).
        (
            "zero-width text",
            {"json": {"texts": ["ok", "\u200b\u200b"]}},
            422,
            "texts[1]: the text is blank",
        ),
        ("soft hyphens", {"json": {"texts": ["\u00ad\u00ad"]}}, 422, "texts[0]: the text is blank"),
        ("body not an object", {"json": ["hello"]}, 422, "must be a JSON object"),
        ("field missing", {"json": {}}, 422, "texts: field required"),
        ("unknown field", {"json": {"text": ["hi"]}}, 422, "text: unknown field"),
        ("empty list", {"json": {"texts": []}}, 422, "the list is empty"),
        ("empty text", {"json": {"texts": ["ok", ""]}}, 422, "texts[1]: the text is empty"),
        ("blank text", {"json": {"texts": ["  \n "]}}, 422, "texts[0]: the text is blank"),
        ("invalid JSON", {"content": b'{"texts": ["a",', "headers": JSON}, 400, "not valid JSON"),
        ("empty body", {"content": b"", "headers": JSON}, 400, "request body is empty"),
        (
            "invalid UTF-8",
            {"content": b'{"texts": ["caf\xe9"]}', "headers": JSON},
            400,
            "not valid UTF-8 (byte 0xe9 at 15)",
        ),
        (
            "lone surrogate",
            {"content": b'{"texts": ["\\ud800"]}', "headers": JSON},
            400,
            "not valid JSON",
        ),
        (
            "not JSON",
            {"content": b"texts=hi", "headers": {"Content-Type": "text/plain"}},
            415,
            "Content-Type must be application/json",
        ),
    ]


def test_every_bad_request_gets_a_clear_4xx_and_the_server_carries_on(tiny_server, limits):
    for name, request, status, message in bad_requests(limits):
        response = post(tiny_server.url, **request)
        assert response.status_code == status, (name, response.text)
        detail = response.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail, name
        assert message in detail, (name, detail)

    assert httpx.get(f"{tiny_server.url}/predict").status_code == 405
    assert httpx.get(f"{tiny_server.url}/nowhere").json() == {"detail": "Not Found"}
    assert post(tiny_server.url, json={"texts": ["still here"]}).status_code == 200
    assert "Traceback" not in tiny_server.log()


def test_unicode_and_limits_at_the_edge_are_accepted(tiny_server, limits):
    texts = ["x" * limits["max_text_chars"], "café 😀 ünïcödé", "#hashtag @user http://t.co/x"]
    texts += ["hi"] * (limits["max_texts"] - len(texts))
    response = post(tiny_server.url, json={"texts": texts})
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == limits["max_texts"]


# --- overload and graceful shutdown -----------------------------------------------------------


@pytest.mark.slow  # ~10 s: a service held busy, then stopped mid-request
def test_overload_gets_503_and_shutdown_lets_requests_in_flight_finish(serve_run, _tiny_run):
    # A long wait keeps the first request queued while we overload the server and stop it.
    server = serve_run(_tiny_run, "--max-texts", "4", "--max-queue", "4", "--max-wait-ms", "2000")
    in_flight: dict = {}

    def first_request():
        in_flight["response"] = post(server.url, json={"texts": TWEETS[:4]})

    thread = threading.Thread(target=first_request)
    thread.start()
    deadline = time.monotonic() + 10
    while httpx.get(f"{server.url}/health").json()["queued"] < 4:
        assert time.monotonic() < deadline, "the first request never queued"
        time.sleep(0.02)

    busy = post(server.url, json={"texts": ["one more"]})
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "1"
    assert "retry" in busy.json()["detail"]

    assert server.stop() == 0  # Ctrl+C while the first request waits for its batch
    thread.join(timeout=30)
    assert in_flight["response"].status_code == 200
    assert len(in_flight["response"].json()["predictions"]) == 4
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/health", timeout=2)
    assert "Traceback" not in server.log()


# --- the command line -------------------------------------------------------------------------


def test_serve_missing_run_is_a_one_line_error(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not found" in err and "Traceback" not in err


def test_serve_busy_port_is_a_one_line_error(tiny_server, _tiny_run, capsys):
    port = httpx.URL(tiny_server.url).port
    assert main(["serve", str(_tiny_run), "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"error: cannot listen on 127.0.0.1:{port}" in err


@pytest.mark.parametrize(
    "options, message",
    [
        ({"max_texts": 0}, "max_texts must be a positive integer"),
        ({"port": 70000}, "port must be between 0 and 65535"),
        ({"max_wait_ms": -1}, "max_wait_ms must be between"),
        ({"max_texts": 100, "max_queue": 50}, "max_queue (50) must be at least max_texts (100)"),
    ],
)
def test_serve_config_rejects_bad_values(options, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ServeConfig(**options)


# --- the micro-batcher, in process ------------------------------------------------------------


def test_batcher_gathers_concurrent_calls_within_the_size_limit(classifier):
    sizes: list[int] = []

    def predict(texts):
        sizes.append(len(texts))
        return classifier.predict_proba(texts)

    async def scenario():
        batcher = MicroBatcher(predict, max_batch_size=5, max_wait_ms=50)
        await batcher.start()
        texts = [f"{TWEETS[i % len(TWEETS)]} {i}" for i in range(12)]
        results = await asyncio.gather(*(batcher.predict([t]) for t in texts))
        await batcher.close()
        return texts, results, batcher.stats

    texts, results, stats = asyncio.run(scenario())

    assert sum(sizes) == 12 and max(sizes) <= 5 and len(sizes) < 12
    assert stats.batches == len(sizes) and stats.requests == 12
    np.testing.assert_allclose(np.vstack(results), classifier.predict_proba(texts), atol=0.02)


def test_batcher_hands_each_caller_its_own_rows():
    # Each row encodes its text, so any mix-up between requests of one batch would show.
    def predict(texts):
        return np.array([[float(t), -float(t)] for t in texts])

    async def scenario():
        batcher = MicroBatcher(predict, max_batch_size=16, max_wait_ms=50)
        await batcher.start()
        requests = [[str(i * 10 + j) for j in range(i % 4 + 1)] for i in range(20)]
        results = await asyncio.gather(*(batcher.predict(r) for r in requests))
        await batcher.close()
        return requests, results, batcher.stats

    requests, results, stats = asyncio.run(scenario())
    for texts, rows in zip(requests, results, strict=True):
        assert rows[:, 0].tolist() == [float(t) for t in texts]
    assert stats.batches < len(requests) and stats.largest_batch <= 16


def test_batcher_does_not_hold_a_lone_client():
    async def scenario():
        batcher = MicroBatcher(lambda texts: np.zeros((len(texts), 2)), max_wait_ms=1500)
        await batcher.start()
        timings = []
        for text in ["first", "second", "third"]:
            started = time.monotonic()
            await batcher.predict([text])
            timings.append(time.monotonic() - started)
        await batcher.close()
        return timings

    first, second, third = asyncio.run(scenario())
    assert first >= 1.4  # nothing known about the traffic yet: wait for company
    assert second < 0.5 and third < 0.5  # the last batch was a lone request: no waiting


def test_batcher_failure_reaches_every_caller_and_it_keeps_working():
    calls = []

    def predict(texts):
        calls.append(texts)
        if len(calls) == 1:
            raise RuntimeError("engine failed")
        return np.ones((len(texts), 2)) / 2

    async def scenario():
        batcher = MicroBatcher(predict, max_batch_size=8, max_wait_ms=50)
        await batcher.start()
        first = await asyncio.gather(
            batcher.predict(["a"]), batcher.predict(["b"]), return_exceptions=True
        )
        second = await batcher.predict(["c"])
        await batcher.close()
        return first, second

    first, second = asyncio.run(scenario())
    assert [str(e) for e in first] == ["engine failed", "engine failed"]
    assert second.shape == (1, 2)


def test_batcher_refuses_overload_and_drains_queue_on_close(classifier):
    async def scenario():
        batcher = MicroBatcher(
            classifier.predict_proba, max_batch_size=8, max_wait_ms=5000, max_queue=3
        )
        await batcher.start()
        queued = asyncio.ensure_future(batcher.predict(TWEETS[:3]))
        await asyncio.sleep(0.05)
        with pytest.raises(Overloaded):
            await batcher.predict(["one too many"])
        started = time.monotonic()
        await batcher.close()  # does not wait out the 5 s: closing flushes the queue now
        closed_in = time.monotonic() - started
        with pytest.raises(Closed):
            await batcher.predict(["too late"])
        return await queued, closed_in

    result, closed_in = asyncio.run(scenario())
    assert result.shape == (3, len(classifier.labels))
    assert closed_in < 4


def test_batcher_rejects_bad_settings(classifier):
    with pytest.raises(ConfigError, match="max_batch_size"):
        MicroBatcher(classifier.predict_proba, max_batch_size=0)


# --- the load test, shortened (opt-in: -m slow) -----------------------------------------------


@pytest.mark.slow
def test_load_test_runs_without_errors_and_batches(_tiny_run, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "bench" / "load_test.py"
    out = tmp_path / "load.json"
    options = ["--clients", "16", "--duration", "5", "--baseline-duration", "3"]
    result = subprocess.run(
        [sys.executable, str(script), str(_tiny_run), *options, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    single, loaded = json.loads(out.read_text())["phases"]
    assert single["errors"] == loaded["errors"] == 0
    assert single["requests"] > 0 and loaded["requests"] > 0
    assert loaded["mean_batch"] > 1
