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


__all__ = ["normalize_tweet"]
