import numpy as np
import pytest

from tweetsent.evaluation import classification_metrics, cross_entropy, format_per_class


def test_metrics_match_hand_computed_values():
    # labels: a=0, b=1, c=2. true a a a b b c ; pred a a b b c c
    labels = ["a", "b", "c"]
    m = classification_metrics([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], labels)
    assert m["accuracy"] == pytest.approx(4 / 6)
    # per class: a P=1 R=2/3 F1=0.8; b P=1/2 R=1/2 F1=0.5; c P=1/2 R=1 F1=2/3
    f1 = [0.8, 0.5, 2 / 3]
    assert m["f1_macro"] == pytest.approx(sum(f1) / 3)
    assert m["f1_weighted"] == pytest.approx((3 * 0.8 + 2 * 0.5 + 1 * 2 / 3) / 6)
    assert m["f1_micro"] == pytest.approx(4 / 6)
    assert m["per_class"]["a"]["accuracy"] == "2/3"
    assert m["per_class"]["c"]["precision"] == pytest.approx(0.5)
    assert m["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    # MCC from its multiclass definition (Gorodkin): c*s - sum(p_k t_k) over sqrt terms.
    c, s = 4, 6
    t = np.array([3, 2, 1])
    p = np.array([2, 2, 2])
    expected = (c * s - (p * t).sum()) / np.sqrt((s**2 - (p**2).sum()) * (s**2 - (t**2).sum()))
    assert m["mcc"] == pytest.approx(expected)
    assert format_per_class(m) == "a 2/3, b 1/2, c 1/1"


def test_classes_absent_from_the_data_still_get_a_row():
    m = classification_metrics([0, 0], [0, 0], ["x", "y"])
    assert m["per_class"]["y"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 0,
        "correct": 0,
        "accuracy": "0/0",
    }


def test_cross_entropy():
    proba = np.array([[0.5, 0.5], [0.9, 0.1]])
    assert cross_entropy(proba, [0, 0]) == pytest.approx(-(np.log(0.5) + np.log(0.9)) / 2)
