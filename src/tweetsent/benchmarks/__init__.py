"""Side-by-side speed benchmarks: ours against the usual references, in one run, same model.

``bench_predict`` (:mod:`.predict`) times raw tweets → label names; ``bench_train``
(:mod:`.train`) times training. Both return plain dicts (the CLI prints them as a table and
writes them as JSON) with throughputs, ratios to the reference, label agreement / F1, and the
achieved FLOP/s against the CPU's peak (:mod:`.machine`).
"""

from tweetsent.benchmarks.machine import encoder_flops, machine_info
from tweetsent.benchmarks.predict import PREDICT_KEYS, bench_predict
from tweetsent.benchmarks.sources import load_sources, parse_source, run_validation, sample_texts
from tweetsent.benchmarks.train import TRAIN_KEYS, bench_train

__all__ = [
    "PREDICT_KEYS",
    "TRAIN_KEYS",
    "bench_predict",
    "bench_train",
    "encoder_flops",
    "load_sources",
    "machine_info",
    "parse_source",
    "run_validation",
    "sample_texts",
]
