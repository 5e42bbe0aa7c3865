"""Wall time of tweetsent's start-up paths: two source trees side by side, alternating.

Usage: python bench/startup_timing.py [REPEATS]  (edit TREES and CASES for other trees / runs)
Each command runs as a fresh ``python -m tweetsent`` process; a first round warms the page
cache and is dropped; the table gives medians.
"""

import os
import statistics
import subprocess
import sys
import time

PY = sys.executable
TREES = {"before": "/tmp/fh/before/src", "after": "/work/wt-firsthour/src"}
CASES = {
    "data error (train, missing file)": [
        *("train", "/tmp/fh/missing.csv", "--preset", "smile", "--out", "/tmp/fh/x")
    ],
    "data error (inspect, wrong column)": [
        *("inspect", "/tmp/fh/small.csv", "--text-col", "txt", "--label-col", "label")
    ],
    "predict --backend onnx, one tweet": [
        *("predict", "/tmp/fh/mini", "one tweet about a lovely museum", "--backend", "onnx")
    ],
}


def main(repeats: int) -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    times = {(case, tree): [] for case in CASES for tree in TREES}
    for rep in range(repeats + 1):  # round 0 warms the page cache and is dropped
        for case, argv in CASES.items():
            for tree, src in TREES.items():
                start = time.perf_counter()
                proc = subprocess.run(
                    [PY, "-m", "tweetsent", *argv],
                    env=dict(env, PYTHONPATH=src),
                    capture_output=True,
                    text=True,
                )
                took = time.perf_counter() - start
                expected = 0 if case.startswith("predict") else 1
                assert proc.returncode == expected, (tree, case, proc.stderr[-500:])
                if rep:
                    times[(case, tree)].append(took)
    for case in CASES:
        before = statistics.median(times[(case, "before")])
        after = times[(case, "after")]
        mid = statistics.median(after)
        print(
            f"| {case} | {before:.2f} s | {mid:.2f} s | {before / mid:.1f}x | "
            f"min {min(after):.2f} / max {max(after):.2f} |"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
