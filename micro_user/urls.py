"""URLs from clients, taken apart without surprises."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit


def split_url(url: str) -> SplitResult | None:
    """``url``'s parts, or None when it cannot be a URL (``urlsplit`` raises ValueError on
    a bad IPv6 literal, and ``.port`` on a port that is no number)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is no number
        return parts
    except ValueError:
        return None
