"""normalize_tweet: one pure function, checked against a table of real tweet shapes."""

import numpy as np
import pytest

from tweetsent.data.normalize import clean_tweet, demojize, normalize_tweet

CASES = [
    # mentions, any case, digits and underscores
    ("@Bob1 thanks!", "@user thanks!"),
    ("@john_doe and @JOHN_DOE", "@user and @user"),
    ("RT @TupperLakeNY: lovely", "RT @user: lovely"),
    (".@museum_x great", ".@user great"),
    ("write to info@museum.org", "write to info@museum.org"),  # e-mail stays
    # links, case-insensitive
    ("see https://t.co/x", "see http"),
    ("see HTTPS://T.CO/AbC123 now", "see http now"),
    ("old http://bit.ly/1a?b=c&d=e", "old http"),
    ("www.britishmuseum.org/visit is open", "http is open"),
    # HTML entities
    ("fish &amp; chips", "fish & chips"),
    ("&lt;3 you &gt; me", "<3 you > me"),
    ("&quot;wow&quot;", '"wow"'),
    # mojibake from UTF-8 read as cp1252 / latin-1
    ("Itâ€™s great", "It's great"),
    ("Â£5 entry", "£5 entry"),
    ("cafÃ© time", "café time"),
    # clean text is left alone
    ("Just a tweet.", "Just a tweet."),
    ("", ""),
    ("  spaced   out  ", "spaced out"),
]


@pytest.mark.parametrize("raw, expected", CASES)
def test_normalize_table(raw, expected):
    assert normalize_tweet(raw) == expected


@pytest.mark.parametrize("raw, _", CASES)
def test_normalize_is_idempotent(raw, _):
    once = normalize_tweet(raw)
    assert normalize_tweet(once) == once


def test_normalize_everything_at_once():
    text = "@Bob1 loved it &amp; more https://t.co/x â€™"
    assert normalize_tweet(text) == "@user loved it & more http '"


def _two_class_csv(path, happy: str, angry: str):
    """12 rows of each class, texts from the templates with ``{i}`` filled in."""
    rows = ["text,label"]
    for i in range(12):
        rows += [f"{happy.format(i=i)},happy", f"{angry.format(i=i)},angry"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_training_and_prediction_apply_the_same_normalisation(tmp_path, tiny_config):
    from tweetsent.inference import TweetClassifier
    from tweetsent.training import prepare_data, train

    tiny_config.data_path = str(
        _two_class_csv(
            tmp_path / "mentions.csv",
            "@Fan{i} love it https://t.co/{i} &amp; more",
            "@Critic_{i} hate it www.x.org/{i}",
        )
    )
    train_data, val = prepare_data(tiny_config)
    assert all("@user" in t and "http" in t for t in train_data.texts + val.texts)
    assert not any("&amp;" in t or "t.co" in t for t in train_data.texts)

    run = train(tiny_config, tmp_path / "run", progress=False).run_dir
    clf = TweetClassifier.load(run, backend="torch")
    assert clf.normalize
    raw = clf.predict_proba(["@Bob1 love it https://t.co/x &amp; more"])
    clean = clf.predict_proba(["@user love it http & more"])
    np.testing.assert_allclose(raw, clean, atol=1e-6)
    # A bare model directory knows too (its config.json carries the flag).
    assert TweetClassifier.load(run / "model", backend="torch").normalize

    tiny_config.normalize = False
    train_data, _ = prepare_data(tiny_config)
    assert any("&amp;" in t for t in train_data.texts)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("so scary 😱", "so scary face screaming in fear"),
        ("❤️🔪😱", "red heart kitchen knife face screaming in fear"),
        ("please 🙏🏼 now", "please folded hands now"),  # skin tone dropped
        ("thank you😊", "thank you smiling face with smiling eyes"),
        ("no emoji here :)", "no emoji here :)"),
        ("", ""),
    ],
)
def test_demojize_table(raw, expected):
    assert demojize(raw) == expected
    assert demojize(expected) == expected  # idempotent: names contain no emoji


def test_clean_tweet_normalises_before_demojizing():
    # ftfy first turns the mojibake back into the emoji, which then gets its name.
    mojibake = "😊".encode().decode("cp1252")  # "ðŸ˜Š"
    assert mojibake == "ðŸ˜Š"
    assert (
        clean_tweet(f"@Bob {mojibake}", demojize_emoji=True)
        == "@user smiling face with smiling eyes"
    )
    assert (
        clean_tweet("@Bob 😊", normalize=False, demojize_emoji=True)
        == "@Bob smiling face with smiling eyes"
    )
    assert clean_tweet("@Bob 😊") == "@user 😊"


def test_demojize_reaches_training_and_prediction(tmp_path, tiny_config):
    from tweetsent.inference import TweetClassifier
    from tweetsent.training import prepare_data, train

    tiny_config.data_path = str(
        _two_class_csv(tmp_path / "emoji.csv", "day {i} 😍😍", "day {i} 😡")
    )
    tiny_config.demojize = True
    train_data, _ = prepare_data(tiny_config)
    assert any("smiling face with heart-eyes" in t for t in train_data.texts)
    assert not any("😍" in t or "😡" in t for t in train_data.texts)

    run = train(tiny_config, tmp_path / "run", progress=False).run_dir
    for where in (run, run / "model"):  # the run and a bare model directory both know
        clf = TweetClassifier.load(where, backend="torch")
        assert clf.demojize
        np.testing.assert_allclose(
            clf.predict_proba(["day 3 😡"]), clf.predict_proba(["day 3 enraged face"]), atol=1e-6
        )


def test_runs_saved_before_demojize_keep_their_emoji(tiny_run):
    import json

    from tweetsent.config import TrainConfig
    from tweetsent.inference import TweetClassifier

    assert TweetClassifier.load(tiny_run, backend="torch").demojize  # today's default
    # A run directory written before the setting existed has the key in neither config.json.
    config_file, model_file = tiny_run / "config.json", tiny_run / "model" / "config.json"
    for path, key in ((config_file, "demojize"), (model_file, "tweetsent_demojize")):
        saved = json.loads(path.read_text())
        del saved[key]
        if path == config_file:
            del saved["multi_label_rows"]
        path.write_text(json.dumps(saved))
    old = TrainConfig.load(config_file)
    assert old.demojize is False and old.multi_label_rows == "drop"
    assert not TweetClassifier.load(tiny_run, backend="torch").demojize
    assert not TweetClassifier.load(tiny_run / "model", backend="torch").demojize
