"""Load test for ``tweetsent serve``: one client at a time, then many at once, same server.

Starts ``tweetsent serve RUN_DIR`` on a free loopback port, warms it up, then measures

1. one client sending requests back to back (the no-concurrency baseline), and
2. ``--clients`` clients at once (default 64) for ``--duration`` seconds (default 30),

with the same request mix (mostly one tweet, some with several), and reports throughput,
p50 / p99 latency, errors, the server's mean batch size and the throughput ratio. With
``--unbatched`` it also runs phase 2 against a second server started with ``--max-batch-size 1``,
which separates the gain of micro-batching from that of mere concurrency.

Bounded: loopback only, every phase stops after its duration or ``--max-requests`` requests, each
request times out after 30 s, and the servers are stopped (Ctrl+C) at the end.

    flock -x /tmp/cpu.lock python bench/load_test.py RUN_DIR --unbatched
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TEXTS = ROOT.parent / "shared" / "data" / "smile-annotations-final.csv"
FALLBACK_TEXTS = [
    "What a lovely afternoon at the museum!",
    "The queue at the entrance was awful, never again.",
    "Just saw the new exhibition, absolutely stunning #art",
    "@gallery why is the cafe closed on a Sunday?",
    "Can't believe they moved my favourite painting :(",
    "Tickets for Tuesday's late opening are on sale now",
]


@dataclass
class Phase:
    name: str
    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    texts: int = 0
    errors: int = 0
    error_examples: list[str] = field(default_factory=list)
    batching: dict = field(default_factory=dict)

    def summary(self) -> dict:
        ok = np.array(self.latencies) * 1000
        requests = len(self.latencies) + self.errors
        return {
            "phase": self.name,
            "clients": self.clients,
            "seconds": round(self.seconds, 2),
            "requests": requests,
            "texts": self.texts,
            "errors": self.errors,
            "requests_per_s": round(len(self.latencies) / self.seconds, 1),
            "texts_per_s": round(self.texts / self.seconds, 1),
            "p50_ms": round(float(np.percentile(ok, 50)), 1) if len(ok) else None,
            "p99_ms": round(float(np.percentile(ok, 99)), 1) if len(ok) else None,
            "mean_batch": self.batching.get("mean_batch"),
            "error_examples": self.error_examples[:5],
        }


def load_texts(path: Path | None) -> list[str]:
    if path is None or not path.exists():
        return FALLBACK_TEXTS
    if path.suffix == ".csv":  # the SMILE file: id,text,category, no header
        with path.open(encoding="utf-8", newline="") as f:
            return [row[1] for row in csv.reader(f) if len(row) > 1 and row[1].strip()]
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def request_mix(texts: list[str], seed: int, multi_fraction: float, max_texts: int):
    """Endless requests: a single tweet, or (with ``multi_fraction``) 2..max_texts tweets."""
    rng = random.Random(seed)
    while True:
        n = rng.randint(2, max_texts) if rng.random() < multi_fraction else 1
        yield [rng.choice(texts) for _ in range(n)]


async def run_phase(url: str, phase: Phase, args, texts: list[str], duration: float) -> Phase:
    limits = httpx.Limits(max_connections=phase.clients, max_keepalive_connections=phase.clients)
    before = httpx.get(f"{url}/health").json()["batching"]
    budget = {"left": args.max_requests}
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        start = time.perf_counter()
        end = start + duration

        async def one_client(seed: int) -> None:
            for batch in request_mix(texts, seed, args.multi_fraction, args.max_texts):
                if time.perf_counter() >= end or budget["left"] <= 0:
                    return
                budget["left"] -= 1
                sent = time.perf_counter()
                try:
                    response = await client.post("/predict", json={"texts": batch})
                    answered = len(response.json()["predictions"]) if response.is_success else 0
                    ok = response.status_code == 200 and answered == len(batch)
                    problem = f"{response.status_code}: {response.text[:200]}"
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    ok, problem = False, f"{type(exc).__name__}: {exc}"
                if ok:
                    phase.latencies.append(time.perf_counter() - sent)
                    phase.texts += len(batch)
                else:
                    phase.errors += 1
                    phase.error_examples.append(problem)

        await asyncio.gather(*(one_client(args.seed * 1000 + i) for i in range(phase.clients)))
        phase.seconds = time.perf_counter() - start
    after = httpx.get(f"{url}/health").json()["batching"]
    batches = after["batches"] - before["batches"]
    phase.batching = {
        "batches": batches,
        "mean_batch": round((after["texts"] - before["texts"]) / batches, 2) if batches else None,
    }
    return phase


class Server:
    """``tweetsent serve`` in a subprocess on a free loopback port."""

    def __init__(self, run_dir: str, extra: list[str]):
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115
        command = [sys.executable, "-m", "tweetsent", "serve", run_dir, "--port", "0"]
        command += ["--host", "127.0.0.1", "--no-access-log", *extra]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = self._wait()

    def _wait(self, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"server exited:\n{Path(self.log.name).read_text()}")
            found = re.search(r"serving .* at (http://\S+) ", Path(self.log.name).read_text())
            if found:
                try:
                    httpx.get(f"{found.group(1)}/health", timeout=5).raise_for_status()
                    return found.group(1)
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        self.stop()
        sys.exit(f"server did not start in {timeout} s")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def warm_up(url: str, texts: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        for n in (1, 2, 8, 16, 32, 64, 1, 1):
            client.post("/predict", json={"texts": (texts * 64)[:n]}).raise_for_status()


def measure(run_dir: str, serve_args: list[str], args, texts: list[str], phases) -> list[Phase]:
    server = Server(run_dir, serve_args)
    results = []
    try:
        info = httpx.get(f"{server.url}/model").json()
        print(f"server: {server.url}, backend {info['backend']}, {info['backbone']}", flush=True)
        warm_up(server.url, texts)
        for name, clients, duration in phases:
            print(f"  {name}: {clients} client(s) for {duration:g} s ...", flush=True)
            phase = asyncio.run(run_phase(server.url, Phase(name, clients), args, texts, duration))
            print(f"    {json.dumps(phase.summary())}", flush=True)
            results.append(phase)
    finally:
        code = server.stop()
        if code != 0:
            print(f"warning: server exited with {code}; log: {server.log.name}", file=sys.stderr)
    return results


def markdown(rows: list[dict], ratio: dict) -> str:
    lines = [
        "| phase | clients | requests | texts | errors | requests/s | texts/s | p50 ms | p99 ms "
        "| mean batch |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['phase']} | {r['clients']} | {r['requests']} | {r['texts']} | {r['errors']} "
            f"| {r['requests_per_s']} | {r['texts_per_s']} | {r['p50_ms']} | {r['p99_ms']} "
            f"| {r['mean_batch']} |"
        )
    lines.append("")
    for name, value in ratio.items():
        lines.append(f"- {name}: **{value:.2f}x**")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="run directory to serve")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--duration", type=float, default=30, help="seconds with all clients")
    parser.add_argument(
        "--baseline-duration", type=float, default=15, help="seconds with one client"
    )
    parser.add_argument("--multi-fraction", type=float, default=0.3, help="share of multi-text")
    parser.add_argument("--max-texts", type=int, default=8, help="most texts in one request")
    parser.add_argument("--max-requests", type=int, default=200_000, help="cap per phase")
    parser.add_argument("--texts", type=Path, default=DEFAULT_TEXTS, help="tweets to send")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--unbatched",
        action="store_true",
        help="also load a server started with --max-batch-size 1",
    )
    parser.add_argument(
        "--serve-args", default="", help="extra 'tweetsent serve' options, e.g. '--max-wait-ms 2'"
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 256 or not 0 < args.duration <= 300:
        parser.error("--clients must be 1..256 and --duration at most 300 s")

    texts = load_texts(args.texts)
    serve_args = args.serve_args.split()
    print(f"{len(texts)} distinct tweets; {platform.node()}, {platform.processor()}", flush=True)
    phases = [
        ("one client at a time", 1, args.baseline_duration),
        (f"{args.clients} clients, micro-batching", args.clients, args.duration),
    ]
    single, loaded = measure(args.run_dir, serve_args, args, texts, phases)
    rows = [single.summary(), loaded.summary()]
    ratio = {
        f"texts/s, {args.clients} clients vs one client at a time": loaded.texts
        / loaded.seconds
        / (single.texts / single.seconds),
    }
    if args.unbatched:
        (unbatched,) = measure(
            args.run_dir,
            [*serve_args, "--max-batch-size", "1"],
            args,
            texts,
            [(f"{args.clients} clients, --max-batch-size 1", args.clients, args.duration)],
        )
        rows.append(unbatched.summary())
        ratio[f"texts/s, {args.clients} clients: micro-batching vs --max-batch-size 1"] = (
            loaded.texts / loaded.seconds / (unbatched.texts / unbatched.seconds)
        )
    print()
    print(markdown(rows, ratio))
    if args.json:
        args.json.write_text(json.dumps({"phases": rows, "ratios": ratio}, indent=2) + "\n")
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
