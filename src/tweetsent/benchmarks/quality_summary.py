"""The quality suite's results: mean and spread over seeds, the mean over tasks, merging the
JSON of separate jobs, and the ``KEY=VALUE`` recipe overrides (see :mod:`.quality`)."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence

from tweetsent.config import TrainConfig
from tweetsent.errors import ConfigError


def parse_overrides(items: Sequence[str]) -> dict:
    """``["lr=1e-4", "class_weights=none"]`` -> TrainConfig overrides (values read as JSON
    where they parse, else as strings); unknown keys fail here, before any training."""
    import json

    known = {f.name for f in dataclasses.fields(TrainConfig)}
    values = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ConfigError(f"override {item!r}: expected KEY=VALUE, e.g. lr=5e-5")
        if key not in known:
            raise ConfigError(f"override {item!r}: TrainConfig has no field {key!r}")
        try:
            values[key] = json.loads(text)
        except ValueError:
            values[key] = text
    return values


def _spread(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(result: dict) -> dict:
    """Per task and recipe: mean and standard deviation over seeds; the mean over tasks.

    The mean over tasks leaves out ``test_is_val`` tasks and is taken per seed over the tasks
    that seed has finished for every recipe, so recipes are compared on the same runs.
    """
    runs = result["runs"]
    per_task: dict = {}
    for task in result["tasks"]:
        per_task[task] = {}
        for recipe in result["recipes"]:
            mine = [r for r in runs if r["task"] == task and r["recipe"] == recipe]
            if not mine:
                continue
            entry = {"seeds": [r["seed"] for r in mine], "runs": len(mine)}
            for key in ("official", "f1_macro", "f1_weighted", "train_seconds", "best_epoch"):
                values = [float(r[key]) for r in mine]
                entry[key] = statistics.fmean(values)
                entry[f"{key}_sd"] = _spread(values)
            entry["per_seed"] = {r["seed"]: r["official"] for r in mine}
            # Test-split calibration, where the runs recorded it (results before it did not).
            for key in ("ece_uncalibrated", "ece"):
                if all(r.get(key) is not None for r in mine):
                    entry[key] = statistics.fmean(float(r[key]) for r in mine)
            per_task[task][recipe] = entry
    held_out = [t for t, info in result["tasks"].items() if not info["test_is_val"]]
    recipes = list(result["recipes"])
    done = {(r["task"], r["recipe"], r["seed"]): r for r in runs}
    complete = [
        t for t in held_out if all((t, rec, s) in done for rec in recipes for s in result["seeds"])
    ]
    mean = {}
    if complete:
        for recipe in recipes:
            per_seed = [
                statistics.fmean(done[(t, recipe, s)]["official"] for t in complete)
                for s in result["seeds"]
            ]
            mean[recipe] = {
                "official": statistics.fmean(per_seed),
                "official_sd": _spread(per_seed),
                "f1_macro": statistics.fmean(
                    done[(t, recipe, s)]["f1_macro"] for t in complete for s in result["seeds"]
                ),
                "train_seconds": sum(
                    done[(t, recipe, s)]["train_seconds"] for t in complete for s in result["seeds"]
                ),
            }
    return {"per_task": per_task, "mean_over_tasks": mean, "mean_tasks": complete}


def merge_results(
    results: Sequence[dict],
    *,
    tasks: Sequence[str] | None = None,
    recipes: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
) -> dict:
    """Several ``--json`` results (e.g. seeds run as separate jobs) as one, optionally only
    some tasks / recipes / seeds; summarized again. A task measured on different rows, a
    recipe name with different settings or a run repeated are refused, not averaged."""
    merged: dict = {"tasks": {}, "recipes": {}, "seeds": [], "max_train": None, "runs": []}
    seen = set()
    for result in results:
        for name, info in result["tasks"].items():
            if tasks is not None and name not in tasks:
                continue
            known = merged["tasks"].setdefault(name, info)
            if known["rows"] != info["rows"]:
                raise ConfigError(f"task {name} was measured on different rows in these results")
        for name, values in result["recipes"].items():
            if recipes is not None and name not in recipes:
                continue
            known = merged["recipes"].setdefault(name, values)
            if known != values:
                raise ConfigError(f"recipe {name} has different settings in these results")
        for run in result["runs"]:
            if (
                run["task"] not in merged["tasks"]
                or run["recipe"] not in merged["recipes"]
                or (seeds is not None and run["seed"] not in seeds)
            ):
                continue
            key = (run["task"], run["recipe"], run["seed"])
            if key in seen:
                raise ConfigError(f"run {' / '.join(map(str, key))} appears twice")
            seen.add(key)
            merged["runs"].append(run)
        if result.get("max_train") is not None:
            merged["max_train"] = result["max_train"]
    merged["seeds"] = sorted({run["seed"] for run in merged["runs"]})
    merged["summary"] = summarize(merged)
    return merged


__all__ = ["merge_results", "parse_overrides", "summarize"]
