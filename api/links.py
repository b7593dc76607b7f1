"""Links to the on-premise passage view: the one format every channel writes (OpenAI
`url_citation` annotations, Teams cards, the chat page) and the passage page reads.

`{base}/passage/{chunk_id}?start=S&end=E` opens the stored passage, signed in as the reader,
with the quoted span highlighted; a reader who may not see the chunk gets "not found".
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from rag.citations import Citation

PASSAGE_PATH = "/passage"  # the page route (api/http/pages.py)


def passage_url(base_url: str, citation: Citation) -> str:
    """The passage view of a citation, under `base_url` (COFFRE_PUBLIC_URL)."""
    query = urlencode({"start": citation.start, "end": citation.end})
    return f"{base_url.rstrip('/')}{PASSAGE_PATH}/{quote(citation.chunk_id, safe='')}?{query}"
