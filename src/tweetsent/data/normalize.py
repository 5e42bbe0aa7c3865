"""Tweet normalisation: one pure function, applied identically at training and prediction.

The training run stores ``normalize`` in its config; :class:`tweetsent.prediction.TweetClassifier`
applies the same function before tokenising, so the CLI, the Python API, the HTTP service and
every inference backend see exactly what the model was trained on.
"""

from __future__ import annotations

import functools
import html
import re

# Own regexes rather than a tweet tokenizer library: the rules are three lines, and the
# libraries we looked at get case or underscores wrong (tweetnlp's `@[A-Z,0-9]+`).
# A mention: "@" not preceded by a word character (so e-mail addresses stay), then letters,
# digits or underscores, in any case.
# The patterns also go into a run's tokenizer.json (training/hub.py), whose regex engine
# (Oniguruma) reads them the same way: keep them to syntax both share.
MENTION_PATTERN = r"(?<![\w@])@\w{1,50}"
URL_PATTERN = r"(?i)(?:\bhttps?://|\bwww\.)\S+"
_MENTION = re.compile(MENTION_PATTERN, re.UNICODE)
_URL = re.compile(URL_PATTERN)
_SPACES = re.compile(r"[ \t\u00a0]{2,}")
_SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff]")
# Fast paths, exact by construction (tests/data/test_normalize.py checks them against the full
# path on real tweets and on every edge ftfy handles). They are worth it: in pure Python, ftfy
# and emoji's matcher cost several times what tokenizing a tweet does, a fixed cost per tweet
# that caps what a smaller student or a faster engine can gain.
# Text ftfy cannot change: printable ASCII, tabs and newlines, no "&". ASCII cannot be
# mojibake, quotes or ligatures; "&" starts an entity, "\r", ESC and other control characters
# are what its line-break, terminal-escape and control-character fixes remove.
_PLAIN_ASCII = re.compile(r"[\t\n\x20-\x25\x27-\x7e]*")


def normalize_tweet(text: str) -> str:
    """Mentions to ``@user``, links to ``http``, HTML entities unescaped, mojibake repaired.

    >>> normalize_tweet("@John_Doe loved it &amp; more https://t.co/x â€™")
    "@user loved it & more http '"
    """
    import ftfy

    if not text:
        return ""
    if not _PLAIN_ASCII.fullmatch(text):
        # ftfy repairs mis-decoded UTF-8 ("â€™" -> "'", stray "Â"), uncurls quotes and
        # unescapes HTML entities.
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
    markers = _emoji_markers()
    if markers is not None and markers.isdisjoint(text):
        return _SPACES.sub(" ", text).strip()  # no emoji can be in it
    text = emoji.replace_emoji(
        _SKIN_TONES.sub("", text),
        replace=lambda _, data: f" {data['en'].strip(':').replace('_', ' ')} ",
    )
    return _SPACES.sub(" ", text).strip()


@functools.cache
def _emoji_markers() -> frozenset[str] | None:
    """The non-ASCII characters of every emoji the emoji package knows: a text holding none of
    them holds no emoji. None (no fast path) if some emoji were pure ASCII."""
    import emoji

    if any(sequence.isascii() for sequence in emoji.EMOJI_DATA):
        return None
    return frozenset(ch for sequence in emoji.EMOJI_DATA for ch in sequence if not ch.isascii())


def clean_tweet(text: str, *, normalize: bool = True, demojize_emoji: bool = False) -> str:
    """The text preparation a run was trained with: :func:`normalize_tweet`, then
    :func:`demojize` (after ftfy, which repairs mojibake emoji such as ``ðŸ˜Š`` first)."""
    if normalize:
        text = normalize_tweet(text)
    return demojize(text) if demojize_emoji else text


__all__ = ["clean_tweet", "demojize", "normalize_tweet"]
