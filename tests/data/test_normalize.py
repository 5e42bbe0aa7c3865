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


# The edges of the fast paths: what ftfy would change in ASCII text (entities, "\r", escapes,
# control characters), and emoji built from ASCII (keycaps), joiners, flags and skin tones.
FAST_PATH_EDGES = [
    "plain ascii, tabs\tand\nnewlines ~!",
    "fish &amp; chips &amp;amp; more",
    "line\r\nbreaks\rhere",
    "\x1b[31mred\x1b[0m text",
    "nul\x00 bell\x07 del\x7f form\x0cfeed",
    "# 1 * not emoji",
    "keycaps #\ufe0f\u20e3 1\u20e3 *\ufe0f\u20e3",
    "\u00a9 2024 \u2122 \u203c",
    "family \U0001f468\u200d\U0001f469\u200d\U0001f467 flag \U0001f1eb\U0001f1f7",
    "tone alone \U0001f3fd and \U0001f44d\U0001f3fd",
    "caf\u00e9 \u201cquoted\u201d \u2013 no emoji",
    "It\u00e2\u20ac\u2122s mojibake \u00f0\u0178\u02dc\u0160",
]


def _full_path(text: str) -> str:
    """normalize_tweet and demojize without their fast paths."""
    import html
    import re

    import emoji
    import ftfy

    from tweetsent.data import normalize as n

    text = ftfy.fix_text(text, unescape_html=True, normalization="NFC", fix_line_breaks=True)
    text = html.unescape(text)
    text = n._SPACES.sub(" ", n._MENTION.sub("@user", n._URL.sub("http", text))).strip()
    text = emoji.replace_emoji(
        n._SKIN_TONES.sub("", text),
        replace=lambda _, data: f" {data['en'].strip(':').replace('_', ' ')} ",
    )
    return re.sub(r"[ \t\u00a0]{2,}", " ", text).strip()


def test_the_fast_paths_change_nothing(smile_path, covid_path):
    import pandas as pd

    from tweetsent.data.normalize import _PLAIN_ASCII, _emoji_markers

    tweets = [str(t) for t in pd.read_csv(smile_path, header=None)[1][:1000]]
    covid = pd.read_csv(covid_path, encoding="latin-1")["OriginalTweet"][:500]
    tweets += [str(t) for t in covid]
    texts = FAST_PATH_EDGES + tweets
    for text in texts:
        assert clean_tweet(text, demojize_emoji=True) == _full_path(text), repr(text)
    # Both fast paths are taken on real tweets, and skipped where they must be.
    assert sum(bool(_PLAIN_ASCII.fullmatch(t)) for t in tweets) > len(tweets) / 2
    assert not any(_PLAIN_ASCII.fullmatch(t) for t in FAST_PATH_EDGES[1:5])
    markers = _emoji_markers()
    assert markers is not None and sum(markers.isdisjoint(t) for t in tweets) > len(tweets) / 2
    assert not any(markers.isdisjoint(t) for t in FAST_PATH_EDGES[6:10])
