"""``POST /predict-file``: a file uploaded to a real ``tweetsent serve`` comes back labelled, as
``tweetsent predict --input FILE --output OUT.csv`` labels it."""

from __future__ import annotations

import io
import re
import shlex
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tweetsent.serving.upload import upload_name

ROOT = Path(__file__).resolve().parents[2]
TWEETS = [
    "love great day 3",
    "hate awful day 7",
    "museum opens tuesday",
    'what a wonderful amazing exhibition, "quoted"',
    "terrible horrible furious",
    '=HYPERLINK("x") formula-looking tweet',
]


def upload(url: str, name: str, content: bytes, **fields) -> httpx.Response:
    return httpx.post(
        f"{url}/predict-file", files={"file": (name, content)}, data=fields, timeout=60
    )


@pytest.fixture
def cli_labels(run_cli, _tiny_run, tmp_path):
    """What ``tweetsent predict RUN --input PATH --output OUT.csv [flags]`` writes."""

    def run(path: Path, *flags: str) -> bytes:
        out = tmp_path / f"cli-{path.name}.csv"
        code, _, err = run_cli("predict", _tiny_run, "--input", path, "--output", out, *flags)
        assert code == 0, err
        return out.read_bytes()

    return run


def test_uploaded_csv_comes_back_as_predict_input_writes_it(tiny_server, small_csv, cli_labels):
    response = upload(tiny_server.url, "small.csv", small_csv.read_bytes())

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="small-labelled.csv"' in response.headers["content-disposition"]
    assert response.headers["x-rows"] == str(len(pd.read_csv(small_csv)))
    # The run's own data options (text column 'text'), as the command line without flags.
    assert response.content == cli_labels(small_csv)
    labelled = pd.read_csv(io.BytesIO(response.content))
    assert list(labelled.columns[:4]) == ["text", "label", "predicted_label", "confidence"]


@pytest.mark.parametrize("suffix", [".tsv", ".jsonl", ".parquet"])
def test_other_formats_and_a_chosen_text_column(tiny_server, tmp_path, cli_labels, suffix):
    frame = pd.DataFrame({"id": range(len(TWEETS)), "tweet": TWEETS})
    path = tmp_path / f"mine{suffix}"
    if suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)

    response = upload(tiny_server.url, path.name, path.read_bytes(), text_col="tweet")

    assert response.status_code == 200, response.text
    assert response.content == cli_labels(path, "--text-col", "tweet")
    assert 'filename="mine-labelled.csv"' in response.headers["content-disposition"]


def test_min_confidence_as_on_the_command_line(tiny_server, small_csv, cli_labels):
    response = upload(tiny_server.url, "small.csv", small_csv.read_bytes(), min_confidence="0.99")

    assert response.status_code == 200, response.text
    assert response.content == cli_labels(small_csv, "--min-confidence", "0.99")
    assert "uncertain" in pd.read_csv(io.BytesIO(response.content))["predicted_label"].tolist()


# --- bad files and forms: a 4xx JSON answer, one line, naming the file, row or column -----------


def bad_uploads() -> list[tuple[str, dict, int, str]]:
    tweets = b"id,tweet\n1,hello there\n2,good morning\n"
    return [
        (
            "text column missing",
            {"files": {"file": ("mine.csv", tweets)}},
            422,
            "mine.csv: no column 'text'; did you mean 'tweet'? (columns: id, tweet); read with "
            "the run's data options (text column 'text'): give this file's with the text_col "
            "field",
        ),
        (
            "text column misspelt",
            {"files": {"file": ("mine.csv", tweets)}, "data": {"text_col": "twet"}},
            422,
            "mine.csv: no column 'twet'; did you mean 'tweet'?",
        ),
        ("empty file", {"files": {"file": ("e.csv", b"")}}, 422, "e.csv: file is empty"),
        (
            "header only",
            {"files": {"file": ("h.csv", b"text,label\n")}},
            422,
            "h.csv: no data rows",
        ),
        (
            "malformed row",
            {"files": {"file": ("m.csv", b"text,label\na,b\nc,d,e,f\n")}},
            422,
            "m.csv: malformed CSV (Error tokenizing data. C error: Expected 2 fields in line 3",
        ),
        (
            "malformed JSON Lines",
            {"files": {"file": ("j.jsonl", b'{"text": "a"}\n{"text": \n')}},
            422,
            "j.jsonl: malformed JSON Lines (line 2",
        ),
        (
            "binary file",
            {"files": {"file": ("b.csv", b"text\n\x00\x01\x02")}},
            422,
            "b.csv: looks like a binary file",
        ),
        (
            "an earlier output",
            {"files": {"file": ("o.csv", b"text,predicted_label\nhi,happy\n")}},
            422,
            "o.csv: has a column named 'predicted_label'",
        ),
        (
            "unknown format",
            {"files": {"file": ("x.csv", tweets)}, "data": {"format": "xls"}},
            422,
            "format must be one of csv, tsv, jsonl, parquet, got 'xls'",
        ),
        (
            "header not a boolean",
            {"files": {"file": ("x.csv", tweets)}, "data": {"header": "maybe"}},
            422,
            "header: must be true or false, got 'maybe'",
        ),
        (
            "min_confidence out of range",
            {"files": {"file": ("x.csv", tweets)}, "data": {"min_confidence": "2"}},
            422,
            "min_confidence must be in (0, 1], got 2.0",
        ),
        (
            "unknown field",
            {"files": {"file": ("x.csv", tweets)}, "data": {"column": "tweet"}},
            422,
            "column: unknown field (the fields are file, text_col, format,",
        ),
        ("no file", {"files": {"text_col": (None, "tweet")}}, 422, "file: field required"),
        (
            "file sent as text",
            {"files": {"file": (None, "id,tweet\n1,hi\n")}},
            422,
            "file: field required: the table to label, as a file",
        ),
        (
            "two files",
            {"files": [("file", ("a.csv", tweets)), ("file", ("b.csv", tweets))]},
            400,
            "Too many files",
        ),
        (
            "a form without a file",
            {"data": {"text_col": "tweet"}},
            415,
            "got application/x-www-form-urlencoded: send the file as a form's file field",
        ),
        (
            "not a form",
            {"json": {"texts": ["hi"]}},
            415,
            "Content-Type must be multipart/form-data, got application/json",
        ),
    ]


def test_every_bad_upload_gets_a_clear_4xx_and_the_server_carries_on(tiny_server):
    for name, request, status, message in bad_uploads():
        response = httpx.post(f"{tiny_server.url}/predict-file", timeout=30, **request)
        assert response.status_code == status, (name, response.text)
        detail = response.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail, name
        assert message in detail, (name, detail)
        assert "tweetsent-upload-" not in detail, (name, detail)  # not our temporary copy

    assert upload(tiny_server.url, "ok.csv", b"text\nstill here\n").status_code == 200
    assert "Traceback" not in tiny_server.log()


def test_too_large_uploads_are_refused_as_they_come(tiny_server):
    limit = httpx.get(f"{tiny_server.url}/model").json()["limits"]["max_upload_bytes"]
    big = b"text\n" + b"a tweet of some length\n" * (limit // 23 + 10)
    assert len(big) > limit

    response = upload(tiny_server.url, "big.csv", big)
    assert response.status_code == 413
    assert response.json()["detail"] == f"file too large: the limit is {limit} bytes"

    request = httpx.Request("POST", tiny_server.url, files={"file": ("big.csv", big)})
    body, content_type = request.read(), request.headers["content-type"]

    def chunked():  # no Content-Length: the server counts as the body arrives
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    response = httpx.post(
        f"{tiny_server.url}/predict-file",
        content=chunked(),
        headers={"Content-Type": content_type},
        timeout=30,
    )
    assert response.status_code == 413
    assert "file too large" in response.json()["detail"]


def test_uploads_beyond_the_limit_get_503_and_slots_come_back(tiny_server):
    most = httpx.get(f"{tiny_server.url}/model").json()["limits"]["max_uploads"]
    port = httpx.URL(tiny_server.url).port
    boundary = "b0undary"
    head = (
        f"POST /predict-file HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.csv"\r\n\r\n'
        "text\nhi\n"
    ).encode()
    slow = []
    for _ in range(most):  # uploads that have begun and not finished arriving
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(head)
        slow.append(sock)
    deadline = time.monotonic() + 10
    while httpx.get(f"{tiny_server.url}/health").json()["uploads"] < most:
        assert time.monotonic() < deadline, "the slow uploads never started"
        time.sleep(0.02)

    busy = upload(tiny_server.url, "x.csv", b"text\nhi\n")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
    assert f"too many uploads at once (limit {most})" in busy.json()["detail"]
    assert httpx.post(f"{tiny_server.url}/predict", json={"texts": ["hi"]}).status_code == 200

    for sock in slow:  # the clients give up: their slots are freed
        sock.close()
    while httpx.get(f"{tiny_server.url}/health").json()["uploads"]:
        assert time.monotonic() < deadline + 10, "the slots were never freed"
        time.sleep(0.02)
    assert upload(tiny_server.url, "x.csv", b"text\nhi\n").status_code == 200


def test_a_big_file_does_not_hold_up_other_requests(tiny_server, tmp_path, cli_labels):
    limit = httpx.get(f"{tiny_server.url}/model").json()["limits"]["max_upload_bytes"]
    rows = [f"{TWEETS[i % 5]} {i}" for i in range(limit // 80)]  # two chunks of the CLI's
    path = tmp_path / "big.csv"
    pd.DataFrame({"text": rows}).to_csv(path, index=False)
    result = {}

    def send():
        result["response"] = upload(tiny_server.url, path.name, path.read_bytes())

    thread = threading.Thread(target=send)
    thread.start()
    deadline = time.monotonic() + 30
    while httpx.get(f"{tiny_server.url}/health").json()["uploads"] < 1:
        assert time.monotonic() < deadline, "the upload never started"
        time.sleep(0.01)
    answered = []
    while thread.is_alive():
        started = time.monotonic()
        response = httpx.post(f"{tiny_server.url}/predict", json={"texts": TWEETS}, timeout=30)
        assert response.status_code == 200
        answered.append(time.monotonic() - started)
    thread.join()

    assert result["response"].status_code == 200, result["response"].text
    assert result["response"].content == cli_labels(path)
    assert len(answered) >= 3  # answered while the file was being labelled, not after it


def test_openapi_documents_the_upload_form(tiny_server):
    schema = httpx.get(f"{tiny_server.url}/openapi.json").json()
    post = schema["paths"]["/predict-file"]["post"]
    form = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"]
    assert {"file", "text_col", "format", "header", "min_confidence"} <= set(form["properties"])
    assert "text/csv" in post["responses"]["200"]["content"]


@pytest.mark.parametrize(
    "given, safe",
    [
        ("tweets.csv", "tweets.csv"),
        ("C:\\Users\\me\\my tweets.tsv", "my tweets.tsv"),
        ("../../etc/passwd", "passwd"),
        ("..", "upload.csv"),
        ("", "upload.csv"),
        (None, "upload.csv"),
        ("a<b>|c.jsonl", "a_b__c.jsonl"),
        ("x" * 300 + ".parquet", "x" * 92 + ".parquet"),
    ],
)
def test_upload_names_are_safe_paths_that_keep_their_suffix(given, safe):
    assert upload_name(given) == safe


# --- the README's command ---------------------------------------------------------------------


def test_documented_upload_command_works_as_written(tiny_server, tmp_path, cli_labels):
    page = (ROOT / "docs" / "serving.md").read_text(encoding="utf-8")
    line = next(line for line in page.splitlines() if "/predict-file" in line and "curl" in line)
    command = line.replace("localhost:8000", tiny_server.url.removeprefix("http://"))
    tweets = tmp_path / re.search(r"file=@(\S+)", line).group(1)
    pd.DataFrame({"text": TWEETS}).to_csv(tweets, index=False)

    subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=tmp_path, check=True)

    written = re.search(r"-o (\S+)", command).group(1)
    assert (tmp_path / written).read_bytes() == cli_labels(tweets, *shlex.split(_flags(line)))


def _flags(line: str) -> str:
    """The documented command's data options, as the command line's flags."""
    fields = dict(re.findall(r"-F (\w+)=([^@\s]+)", line))
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in fields.items())


def test_a_form_from_another_origin_is_refused(tiny_server, small_csv):
    """A page of another site can post a form here without a preflight; a browser always names
    the page's origin, so such an upload is refused (hostile run, D2). Same origin and clients
    that are not browsers (no Origin) are served."""
    content = small_csv.read_bytes()
    host = tiny_server.url.removeprefix("http://")
    for origin, status in (("http://evil.example", 403), (f"http://{host}", 200), (None, 200)):
        headers = {"Origin": origin} if origin else {}
        response = httpx.post(
            f"{tiny_server.url}/predict-file",
            files={"file": ("small.csv", content)},
            headers=headers,
            timeout=60,
        )
        assert response.status_code == status, (origin, response.text)
    assert (
        "another origin"
        in httpx.post(
            f"{tiny_server.url}/predict-file",
            files={"file": ("small.csv", content)},
            headers={"Origin": "http://evil.example"},
        ).json()["detail"]
    )


def test_a_parquet_decompression_bomb_is_refused_before_it_is_read(tiny_server, tmp_path):
    """A few KB of zstd-compressed Parquet that decodes to megabytes of text (hostile run, D1:
    20 x 50 MB took a server to 7 GB): its own metadata gives it away, 413 at once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "bomb.parquet"
    pq.write_table(pa.table({"text": ["a" * 2_000_000] * 3}), path, compression="zstd")
    assert path.stat().st_size < 20_000
    started = time.monotonic()
    response = upload(tiny_server.url, path.name, path.read_bytes(), text_col="text")
    assert response.status_code == 413 and "decodes to" in response.json()["detail"]
    assert time.monotonic() - started < 10
    assert httpx.get(f"{tiny_server.url}/health").json()["status"] == "ok"


def test_labelling_stops_for_a_client_that_went_away():
    """The watcher beside an upload's labelling: once the connection reports the client gone,
    the labelling is told to stop at its next batch (hostile run, D3)."""
    import asyncio

    from tweetsent.serving.upload import _watch_client

    class Connection:  # what the watcher asks of Starlette's Request: is the client still there
        def __init__(self):
            self.asked = 0

        async def is_disconnected(self) -> bool:
            self.asked += 1
            return self.asked >= 3

    cancelled = threading.Event()
    connection = Connection()
    asyncio.run(asyncio.wait_for(_watch_client(connection, cancelled), timeout=10))
    assert cancelled.is_set() and connection.asked == 3


# Two server processes, one killed: CI's slow step.
@pytest.mark.slow
def test_no_upload_files_outlive_the_server(serve_run, _tiny_run, small_csv, tmp_path, monkeypatch):
    import os
    import signal

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))  # the servers' temporary folder
    first = serve_run(_tiny_run)
    assert upload(first.url, "small.csv", small_csv.read_bytes()).status_code == 200
    [root] = tmp.glob(f"tweetsent-uploads-{first.process.pid}-*")
    os.kill(first.process.pid, signal.SIGKILL)  # no clean-up can run
    first.process.wait()
    assert root.is_dir()
    second = serve_run(_tiny_run)
    assert not root.exists(), "the killed server's folder is removed by the next one"
    [own] = tmp.glob(f"tweetsent-uploads-{second.process.pid}-*")
    second.process.send_signal(signal.SIGTERM)
    assert second.process.wait(timeout=60) == 0
    assert not own.exists() and not list(tmp.iterdir())
