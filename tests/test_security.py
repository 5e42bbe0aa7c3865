"""Nothing in a data file or a model directory gets to run code or write outside the run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tweetsent.cli import main

HOSTILE_LABELS = ["../../escaped", "/tmp/tweetsent-absolute", "..\\..\\win", "a/b", "ok"]


def _tree(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_label_names_cannot_write_outside_the_run(tmp_path, train_argv, capsys):
    work = tmp_path / "deep" / "work"
    work.mkdir(parents=True)
    rows = [
        f"tweet {word} {i},{label}"
        for label, word in zip(HOSTILE_LABELS, ["x", "y", "z", "w", "v"], strict=True)
        for i in range(6)
    ]
    data = work / "hostile.csv"
    data.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out = work / "run"
    before = _tree(tmp_path)

    code = main(train_argv(data=data, max_length=16, val_size=0.34, out=out))
    assert code == 0, capsys.readouterr().err
    created = _tree(tmp_path) - before
    assert created and all(name.startswith("deep/work/run") for name in created), created
    assert not (tmp_path / "escaped").exists() and not (work.parent / "escaped").exists()
    assert not any(p.name.startswith("tweetsent-absolute") for p in Path("/tmp").iterdir())
    # The labels survive as data: in the model's config and the metrics, not as paths.
    config = json.loads((out / "model" / "config.json").read_text())
    assert sorted(config["id2label"].values()) == sorted(HOSTILE_LABELS)
    metrics = json.loads((out / "metrics.json").read_text())
    assert sorted(metrics["validation"]["per_class"]) == sorted(HOSTILE_LABELS)


def test_remote_code_in_a_model_directory_never_runs(tmp_path, tiny_backbone, train_argv, capsys):
    model = tmp_path / "remote-code-model"
    shutil.copytree(tiny_backbone, model)
    marker = tmp_path / "code-ran"
    (model / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('pwned')\n")
    config = json.loads((model / "config.json").read_text())
    config["auto_map"] = {
        "AutoConfig": "evil.EvilConfig",
        "AutoModelForSequenceClassification": "evil.EvilModel",
        "AutoTokenizer": ["evil.EvilTokenizer", None],
    }
    (model / "config.json").write_text(json.dumps(config))

    code = main(train_argv(model=model, max_length=16, limit=30, out=tmp_path / "run"))
    err = capsys.readouterr().err
    assert not marker.exists(), "code from the model directory was executed"
    assert "Traceback" not in err
    # Either the built-in BERT class loaded the weights or loading was refused in one line.
    if code != 0:
        assert len([line for line in err.splitlines() if "error:" in line]) == 1, err
        assert not (tmp_path / "run").exists()
