"""The recipe options: class weights, OneCycle, SGD, freezing, MLP head, early stopping."""

import json

import numpy as np
import pytest

from tweetsent.config import TrainConfig
from tweetsent.errors import ConfigError
from tweetsent.inference import TweetClassifier
from tweetsent.modeling import build_classifier, load_classifier
from tweetsent.training import prepare_data, train
from tweetsent.training.losses import class_weights
from tweetsent.training.trainer import lr_multipliers, prepare_model

LABELS = ["a", "b", "c"]
TRAIN = ["a"] * 8 + ["b"] * 2 + ["c"] * 2


def test_balanced_weights_are_scikit_learns():
    weights = class_weights("balanced", LABELS, TRAIN)
    assert weights == pytest.approx([12 / (3 * 8), 12 / (3 * 2), 12 / (3 * 2)])
    sqrt = class_weights("sqrt", LABELS, TRAIN)
    assert sqrt == pytest.approx(np.sqrt(weights))
    assert class_weights("none", LABELS, TRAIN) is None


def test_weights_from_a_file(tmp_path):
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"a": 1, "b": 2.5, "c": 4}))
    assert class_weights(str(path), LABELS, TRAIN) == [1.0, 2.5, 4.0]


@pytest.mark.parametrize(
    "content, fragment",
    [
        (None, "not found"),
        ("[1, 2]", "JSON object"),
        ("{bad", "not a readable JSON"),
        ('{"a": 1, "b": 1}', "no weight for label(s) c"),
        ('{"a": 1, "b": 1, "c": 1, "zz": 2}', "unknown label(s) zz"),
        ('{"a": 1, "b": -1, "c": 1}', "weight of 'b' must be a positive"),
    ],
)
def test_bad_weight_files_are_named(tmp_path, content, fragment):
    path = tmp_path / "w.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        class_weights(str(path), LABELS, TRAIN)


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("scheduler", "cosine", "scheduler must be one of linear, onecycle"),
        ("optimizer", "adam", "optimizer must be one of adamw, sgd"),
        ("head", "deep", "head must be one of linear, mlp"),
        ("freeze_layers", -1, "freeze_layers must be a non-negative"),
        ("freeze_word_embeddings", "yes", "freeze_word_embeddings must be true or false"),
        ("early_stopping_patience", 1.5, "early_stopping_patience must be"),
        ("class_weights", "", "class_weights must be"),
        ("label_sep", "", "label_sep must be"),
        ("head_lr", 0, "head_lr must be a positive"),
        ("layer_lr_decay", 1.5, "layer_lr_decay must be in"),
        ("layer_lr_decay", 0, "layer_lr_decay must be in"),
        ("label_smoothing", 1.0, "label_smoothing must be in"),
        ("label_smoothing", -0.1, "label_smoothing must be in"),
        ("multi_label_rows", "keep", "multi_label_rows must be one of drop, soft"),
    ],
)
def test_recipe_config_is_validated(field, value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        TrainConfig(**{field: value})


def test_label_smoothing_is_single_label_only():
    with pytest.raises(ConfigError, match="single-label only"):
        TrainConfig(multi_label=True, label_smoothing=0.1)


def test_soft_rows_count_half_towards_each_class_weight():
    # One a|b row adds half a row to a and to b: counts 8.5, 2.5, 2 of 13 rows.
    weights = class_weights("balanced", LABELS, TRAIN + ["a|b"], sep="|")
    assert weights == pytest.approx([13 / (3 * 8.5), 13 / (3 * 2.5), 13 / (3 * 2)])
    # Without multi-label rows the fractional path is scikit-learn's formula exactly.
    assert class_weights("sqrt", LABELS, TRAIN, sep="|") == pytest.approx(
        class_weights("sqrt", LABELS, TRAIN)
    )


@pytest.mark.parametrize("eps", [0.0, 0.2])
@pytest.mark.parametrize("weights", [None, [1.0, 3.0, 0.5]])
def test_soft_cross_entropy_matches_torch(weights, eps):
    import torch
    from torch.nn import functional

    from tweetsent.training.losses import soft_cross_entropy

    torch.manual_seed(0)
    logits = torch.randn(6, 3) * 3
    index = torch.tensor([0, 1, 2, 2, 1, 0])
    weight = None if weights is None else torch.tensor(weights)
    one_hot = functional.one_hot(index, 3).float()
    # One-hot rows: exactly the class-index loss, weights and smoothing included.
    expected = functional.cross_entropy(logits, index, weight=weight, label_smoothing=eps)
    got = soft_cross_entropy(logits, one_hot, weight, eps)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    if weights is None and eps == 0:  # shared rows: torch's own probability-target form
        shared = torch.tensor([[0.5, 0.5, 0.0]] * 3 + [[0.0, 0.5, 0.5]] * 3)
        expected = functional.cross_entropy(logits, shared)
        assert soft_cross_entropy(logits, shared).item() == pytest.approx(expected.item())


def test_float_targets_take_the_soft_loss_not_bce(tmp_path, tiny_backbone):
    import torch
    from transformers import TrainingArguments

    from tweetsent.training.losses import soft_cross_entropy
    from tweetsent.training.trainer import TweetTrainer

    model = build_classifier(str(tiny_backbone), LABELS)
    model.eval()
    ids = torch.tensor([[2, 5, 6, 3], [2, 7, 3, 0]])
    inputs = {"input_ids": ids, "attention_mask": (ids != 0).long()}
    targets = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    args = TrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True)
    trainer = TweetTrainer(model=model, args=args)  # no class weights
    with torch.no_grad():
        loss = trainer.compute_loss(model, {**inputs, "labels": targets}).item()
        expected = soft_cross_entropy(model(**inputs).logits, targets).item()
    # Handing float labels to the model itself would switch it to multi-label BCE.
    assert loss == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("weights", [None, [1.0, 3.0, 0.5]])
def test_label_smoothing_reaches_the_loss(tmp_path, tiny_backbone, weights):
    import torch
    from torch.nn import functional
    from transformers import TrainingArguments

    from tweetsent.training.trainer import TweetTrainer

    model = build_classifier(str(tiny_backbone), LABELS)
    with torch.no_grad():  # confident logits, where smoothing changes the loss visibly
        model.classifier.bias.copy_(torch.tensor([4.0, 0.0, -4.0]))
    inputs = {
        "input_ids": torch.tensor([[2, 5, 6, 3], [2, 7, 3, 0]]),
        "labels": torch.tensor([0, 1]),
    }
    inputs["attention_mask"] = (inputs["input_ids"] != 0).long()
    model.eval()  # no dropout: both losses see the same logits
    with torch.no_grad():
        logits = model(
            input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]
        ).logits
    losses = {}
    for eps in (0.0, 0.2):
        args = TrainingArguments(
            output_dir=str(tmp_path / str(eps)),
            label_smoothing_factor=eps,
            report_to=[],
            use_cpu=True,
        )
        trainer = TweetTrainer(model=model, args=args, loss_weights=weights)
        model.eval()
        with torch.no_grad():
            losses[eps] = trainer.compute_loss(model, dict(inputs)).item()
        weight = None if weights is None else torch.tensor(weights)
        expected = functional.cross_entropy(
            logits, inputs["labels"], weight=weight, label_smoothing=eps
        )
        assert losses[eps] == pytest.approx(expected.item(), rel=1e-5)
    assert abs(losses[0.2] - losses[0.0]) > 0.01


def test_freezing_encoder_or_lower_layers(tiny_backbone, tiny_config):
    def frozen(model):
        return {n for n, p in model.named_parameters() if not p.requires_grad}

    tiny_config.freeze_layers = 1
    model = prepare_model(build_classifier(str(tiny_backbone), LABELS), tiny_config)
    names = frozen(model)
    assert any(n.startswith("bert.embeddings.") for n in names)
    assert any(".layer.0." in n for n in names) and not any(".layer.1." in n for n in names)
    assert not any(n.startswith("classifier") for n in names)

    tiny_config.freeze_layers, tiny_config.freeze_encoder = 0, True
    model = prepare_model(build_classifier(str(tiny_backbone), LABELS), tiny_config)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"classifier.weight", "classifier.bias"}

    tiny_config.freeze_encoder, tiny_config.freeze_layers = False, 3
    with pytest.raises(ConfigError, match="has 2 layers"):
        prepare_model(build_classifier(str(tiny_backbone), LABELS), tiny_config)


def test_frozen_encoder_stays_unchanged_in_training(tmp_path, tiny_backbone, tiny_config):
    tiny_config.freeze_encoder = True
    run = train(tiny_config, tmp_path / "run", progress=False).run_dir
    before = build_classifier(str(tiny_backbone), LABELS).bert.encoder.layer[0]
    after = load_classifier(run / "model").bert.encoder.layer[0]
    for p, q in zip(before.parameters(), after.parameters(), strict=True):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())


def test_frozen_word_embeddings_stay_pretrained_and_the_rest_trains(
    tmp_path, tiny_backbone, tiny_config
):
    tiny_config.freeze_word_embeddings = True
    run = train(tiny_config, tmp_path / "run", progress=False).run_dir
    before = build_classifier(str(tiny_backbone), LABELS).bert
    after = load_classifier(run / "model").bert
    for part in ("word_embeddings", "position_embeddings"):
        old = getattr(before.embeddings, part).weight.detach().numpy()
        new = getattr(after.embeddings, part).weight.detach().numpy()
        assert np.array_equal(old, new) == (part == "word_embeddings")
    old, new = (
        m.encoder.layer[0].intermediate.dense.weight.detach().numpy() for m in (before, after)
    )
    assert not np.array_equal(old, new)


def test_class_weighted_onecycle_sgd_run(tmp_path, tiny_config):
    tiny_config.class_weights = "balanced"
    tiny_config.scheduler = "onecycle"
    tiny_config.optimizer = "sgd"
    tiny_config.epochs = 2
    tiny_config.lr = 0.05
    tiny_config.head_lr, tiny_config.layer_lr_decay = None, 1.0  # one lr, the one logged
    metrics = train(tiny_config, tmp_path / "run", progress=False).metrics
    rates = [s["learning_rate"] for s in metrics["train_steps"]]
    peak = rates.index(max(rates))
    assert 0 < peak < len(rates) - 1  # up, then down: a one-cycle shape
    assert max(rates) == pytest.approx(0.05, rel=0.05)
    assert rates[-1] < 0.01 * max(rates)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["class_weights"] == "balanced" and saved["optimizer"] == "sgd"


def test_mlp_head_trains_saves_and_reloads(tmp_path, tiny_config):
    tiny_config.head = "mlp"
    run = train(tiny_config, tmp_path / "run", progress=False).run_dir
    model = load_classifier(run / "model")
    assert model.classifier[0].in_features == 32  # Linear-GELU-Dropout-Linear
    assert model.config.tweetsent_head == "mlp"
    clf = TweetClassifier.load(run, backend="torch")
    texts = ["love great day", "hate awful day", "museum opens tuesday"]
    proba = clf.predict_proba(texts)
    # The reloaded head is the trained one: its predictions match the run's validation scores.
    metrics = json.loads((run / "metrics.json").read_text())
    assert proba.shape == (3, 3) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    again = TweetClassifier.load(run, backend="torch").predict_proba(texts)
    assert np.allclose(proba, again)
    # The reloaded head is the best epoch's: it scores the validation rows as the run did.
    _, val = prepare_data(tiny_config)
    predicted = clf.predict(val.texts)
    accuracy = np.mean([p == t for p, t in zip(predicted, val.labels, strict=True)])
    assert accuracy == pytest.approx(metrics["validation"]["accuracy"])


def test_lr_multipliers_follow_depth(tiny_backbone, tiny_config):
    model = build_classifier(str(tiny_backbone), LABELS)
    tiny_config.head_lr, tiny_config.layer_lr_decay = None, 1.0
    assert lr_multipliers(model, tiny_config) == {}  # one lr for all: Trainer's own groups
    tiny_config.head_lr, tiny_config.layer_lr_decay = 1e-2, 0.5  # lr is 1e-3
    scales = lr_multipliers(model, tiny_config)
    assert scales["classifier.weight"] == pytest.approx(10)
    assert scales["bert.pooler.dense.weight"] == pytest.approx(10)
    assert scales["bert.encoder.layer.1.output.dense.weight"] == pytest.approx(0.5)
    assert scales["bert.encoder.layer.0.output.dense.weight"] == pytest.approx(0.25)
    assert scales["bert.embeddings.word_embeddings.weight"] == pytest.approx(0.125)


def test_layer_decay_is_skipped_with_a_warning_where_layers_are_unknown(
    tiny_backbone, tiny_config, caplog
):
    model = build_classifier(str(tiny_backbone), LABELS)
    model.base_model.encoder = None  # a layout _encoder_layers does not know
    tiny_config.head_lr, tiny_config.layer_lr_decay = 1e-2, 0.5
    with caplog.at_level("WARNING", logger="tweetsent.training.trainer"):
        scales = lr_multipliers(model, tiny_config)
    assert "layer_lr_decay 0.5 not applied" in caplog.text
    assert scales["classifier.weight"] == pytest.approx(10)
    assert scales["bert.embeddings.word_embeddings.weight"] == 1.0


def test_head_lr_and_layer_decay_move_parameters_accordingly(tmp_path, tiny_backbone, tiny_config):
    """A real run: how far each parameter moved follows the lr its depth was given."""
    tiny_config.lr, tiny_config.head_lr, tiny_config.layer_lr_decay = 1e-3, 1e-2, 0.1
    tiny_config.weight_decay = 0.0
    run = train(tiny_config, tmp_path / "run", progress=False).run_dir
    before = dict(build_classifier(str(tiny_backbone), LABELS).named_parameters())
    after = dict(load_classifier(run / "model").named_parameters())

    def moved(prefix: str) -> float:
        deltas = [
            (after[n] - before[n]).abs().mean().item()
            for n in after
            if n.startswith(prefix) and n.endswith("weight") and "LayerNorm" not in n
        ]
        return float(np.mean(deltas))

    head, top, bottom = (
        moved("bert.pooler."),
        moved("bert.encoder.layer.1."),
        moved("bert.encoder.layer.0."),
    )
    assert head > 3 * top > 9 * bottom > 0, (head, top, bottom)
    saved = json.loads((run / "config.json").read_text())
    assert saved["head_lr"] == 1e-2 and saved["layer_lr_decay"] == 0.1


def test_early_stopping_stops(tmp_path, tiny_config):
    tiny_config.epochs = 4
    tiny_config.lr = tiny_config.head_lr = 1e-7  # nothing improves after the first epoch
    tiny_config.early_stopping_patience = 1
    metrics = train(tiny_config, tmp_path / "run", progress=False).metrics
    assert metrics["epochs_run"] == 2
    assert len(metrics["history"]) == metrics["epochs_run"]


def test_evaluation_keeps_row_order(tiny_config, tmp_path):
    """Trainer length-groups eval batches when training does; predictions must not be shuffled."""
    from datasets import Dataset
    from transformers import TrainingArguments

    from tweetsent.training.trainer import TweetTrainer

    lengths = [5, 1, 9, 3, 7, 2, 8] * 10
    ds = Dataset.from_dict({"input_ids": [[1] * n for n in lengths], "length": lengths})
    args = TrainingArguments(
        output_dir=str(tmp_path),
        train_sampling_strategy="group_by_length",
        length_column_name="length",
        per_device_eval_batch_size=8,
        use_cpu=True,
        report_to=[],
    )
    model = build_classifier(tiny_config.model, LABELS)
    trainer = TweetTrainer(model=model, args=args)
    assert list(trainer._get_eval_sampler(ds)) == list(range(len(ds)))
