"""--report-to: Trainer's TensorBoard and MLflow integrations (optional extras)."""

from __future__ import annotations

import importlib.util

import pytest


def _needs(module: str):
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None,
        reason=f"the optional extra is not installed (pip install 'tweetsent[{module}]')",
    )


@_needs("tensorboard")
def test_tensorboard_event_files_are_written_inside_the_run(run_cli, train_argv, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    code, _, err = run_cli(*train_argv(out=out, report_to="tensorboard"))
    assert code == 0, err
    events = list((out / "tensorboard").rglob("events.out.tfevents.*"))
    assert events, sorted(p.name for p in out.iterdir())
    accumulator = EventAccumulator(str(events[0].parent)).Reload()
    tags = accumulator.Tags()["scalars"]
    assert "train/loss" in tags and "eval/f1_weighted" in tags
    assert not (out / "checkpoints").exists()


@pytest.mark.slow  # ~8 s: MLflow's own start-up
@_needs("mlflow")
def test_mlflow_logs_to_a_local_store(run_cli, train_argv, tmp_path, monkeypatch):
    import mlflow

    # MLflow 3's default kind of local store: one SQLite file (its ./mlruns folders are frozen)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "tweetsent-test")
    code, _, err = run_cli(*train_argv(out=tmp_path / "run", report_to="mlflow"))
    assert code == 0, err
    client = mlflow.tracking.MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("tweetsent-test")
    (run,) = client.search_runs([experiment.experiment_id])
    assert "eval_f1_weighted" in run.data.metrics and "loss" in run.data.metrics
    assert run.info.status == "FINISHED"


def test_a_missing_extra_is_one_actionable_line(monkeypatch, tmp_path):
    from tweetsent.errors import ConfigError
    from tweetsent.training.run import check_report_to

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"pip install 'tweetsent\[mlflow\]'"):
        check_report_to("mlflow")
    check_report_to("none")
