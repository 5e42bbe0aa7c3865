"""Throughput and peak memory: ``tweetsent predict --input`` vs ``--engine ray`` (1 and 2 workers).

Builds a 200,000-tweet CSV by repeating the real tweets of ../shared/data (outside the repo),
then runs each command as a subprocess on the same file and the same trained run, one after
the other, sampling every 0.2 s the summed RSS of the command's process tree (the driver, and
for Ray the local Ray instance it starts: GCS, raylet, workers). Run it under
``flock -x /tmp/cpu.lock`` so nothing else shares the CPU:

    flock -x /tmp/cpu.lock python bench/ray_predict.py RUN_DIR --rows 200000 --json out.json

Writes one JSON record per engine: rows, seconds, tweets/s, peak RSS (MiB).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "src"))  # this checkout's tweetsent, as the measured commands use


def build_input(path: Path, rows: int) -> None:
    """Real tweets, repeated: tweeteval sentiment test + offensive train + SMILE."""
    texts = pd.concat(
        [
            pd.read_csv(DATA / "tweeteval" / "sentiment" / "test.csv")["text"],
            pd.read_csv(DATA / "tweeteval" / "offensive" / "train.csv")["text"],
            pd.read_csv(DATA / "smile-annotations-final.csv", header=None)[1],
        ],
        ignore_index=True,
    )
    repeated = pd.concat([texts] * (rows // len(texts) + 1), ignore_index=True)[:rows]
    pd.DataFrame({"text": repeated}).to_csv(path, index=False)


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a process that just ended
            total += p.memory_info().rss
    return total


def measure(command: list[str], env: dict) -> dict:
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    handle = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(handle))
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    output = proc.stdout.read().decode(errors="replace")
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{output}")
    return {"seconds": round(seconds, 1), "peak_rss_mib": round(peak / 2**20), "output": output}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--json", help="write the records here")
    args = parser.parse_args()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as tmp:
        tmp = Path(tmp)
        data = tmp / "tweets.csv"
        build_input(data, args.rows)
        base = [sys.executable, "-m", "tweetsent", "predict", args.run_dir, "--input", str(data)]
        base += ["--text-col", "text", "--no-progress"]
        runs = {
            "single process": [*base, "--output", str(tmp / "single.csv")],
            "ray, 1 worker": [*base, "--output", str(tmp / "ray1"), "--engine", "ray"]
            + ["--workers", "1"],
            "ray, 2 workers": [*base, "--output", str(tmp / "ray2"), "--engine", "ray"]
            + ["--workers", "2"],
        }
        records = []
        for name, command in runs.items():
            result = measure(command, env)
            result.update(engine=name, rows=args.rows)
            result["tweets_per_s"] = round(args.rows / result["seconds"], 1)
            print(json.dumps({k: v for k, v in result.items() if k != "output"}), flush=True)
            records.append(result)
        single = pd.read_csv(tmp / "single.csv")
        from tweetsent.batch.ray import merge_output  # after the sys.path line above

        for out in ("ray1", "ray2"):
            merged = tmp / f"{out}.csv"
            merge_output(tmp / out, merged)
            other = pd.read_csv(merged)
            same = (other["predicted_label"] == single["predicted_label"]).mean()
            print(f"{out}: labels equal to single process on {same:.2%} of rows", flush=True)
    base_rate = records[0]["tweets_per_s"]
    for r in records:
        r["speed_vs_single"] = round(r["tweets_per_s"] / base_rate, 2)
        r["memory_vs_single"] = round(r["peak_rss_mib"] / records[0]["peak_rss_mib"], 2)
        r.pop("output")
    from tweetsent.benchmarks.machine import KEY_FLAGS, _cpu_name, _version, cpu_class, cpu_flags

    flags = cpu_flags()
    meta = {
        "cpu": _cpu_name(),
        "cpu_class": cpu_class(flags),
        "cpu_flags": [flag for flag in KEY_FLAGS if flag in flags],
        "cores": os.cpu_count(),
        "ray": _version("ray"),
    }
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": meta, "runs": records}, indent=1) + "\n")
    print(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
