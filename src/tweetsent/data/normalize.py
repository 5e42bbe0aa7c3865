"""Tweet normalisation: one pure function, applied identically at training and prediction.

The training run stores ``normalize`` in its config; :class:`tweetsent.prediction.TweetClassifier`
applies the same function before tokenising, so the CLI, the Python API, the HTTP service and
every inference backend see exactly what the model was trained on.
"""

from __future__ import annotations

import html
import re

# Own regexes rather than a tweet tokenizer library: the rules are three lines, and the
# libraries we looked at get case or underscores wrong (tweetnlp's `@[A-Z,0-9]+`).
# A mention: "@" not preceded by a word character (so e-mail addresses stay), then letters,
# digits or underscores, in any case.
_MENTION = re.compile(r"(?<![\w@])@\w{1,50}", re.UNICODE)
_URL = re.compile(r"(?:\bhttps?://|\bwww\.)\S+", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\u00a0]{2,}")
_SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff]")


def normalize_tweet(text: str) -> str:
    """Mentions to ``@user``, links to ``http``, HTML entities unescaped, mojibake repaired.

    >>> normalize_tweet("@John_Doe loved it &amp; more https://t.co/x â€™")
    "@user loved it & more http '"
    """
    import ftfy

    if not text:
        return ""
    # ftfy repairs mis-decoded UTF-8 ("â€™" -> "'", stray "Â"), uncurls quotes and unescapes
    # HTML entities.
    text = ftfy.fix_text(text, unescape_html=True, normalization="NFC", fix_line_breaks=True)
    text = html.unescape(text)  # entities ftfy leaves alone ("&lt;3" next to other markup)
    text = _URL.sub("http", text)
    text = _MENTION.sub("@user", text)
    return _SPACES.sub(" ", text).strip()


def demojize(text: str) -> str:
    """Emoji written out as their English names, skin tones dropped.

    An uncased BERT vocabulary reads nearly every emoji as ``[UNK]``; as words ("face screaming
    in fear") the encoder can read the feeling they carry. BERTweet's normaliser does the same
    with the same library.

    >>> demojize("so scary 😱 thanks 🙏🏼")
    'so scary face screaming in fear thanks folded hands'
    """
    import emoji

    if not text:
        return ""
    text = emoji.replace_emoji(
        _SKIN_TONES.sub("", text),
        replace=lambda _, data: f" {data['en'].strip(':').replace('_', ' ')} ",
    )
    return _SPACES.sub(" ", text).strip()


def clean_tweet(text: str, *, normalize: bool = True, demojize_emoji: bool = False) -> str:
    """The text preparation a run was trained with: :func:`normalize_tweet`, then
    :func:`demojize` (after ftfy, which repairs mojibake emoji such as ``ðŸ˜Š`` first)."""
    if normalize:
        text = normalize_tweet(text)
    return demojize(text) if demojize_emoji else text


__all__ = ["clean_tweet", "demojize", "normalize_tweet"]
