"""MkDocs hook: the README is the site's front page. ``docs/index.md`` only stands in for it;
its links point into ``docs/`` as they must on a repository page, and on the site the pages
are siblings."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def on_page_markdown(markdown: str, page, **_) -> str:
    if page.file.src_uri != "index.md":
        return markdown
    return re.sub(r"\]\(docs/", "](", README.read_text(encoding="utf-8"))
