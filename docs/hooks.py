"""MkDocs hook: the README is the site's front page (docs/index.md includes it), and its links
point into docs/ as they must on a repository page; on the site they are siblings."""

from __future__ import annotations

import re


def on_page_markdown(markdown: str, page, **_) -> str:
    if page.file.src_uri == "index.md":
        markdown = re.sub(r"\]\(docs/", "](", markdown)
    return markdown
