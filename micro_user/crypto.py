"""Random secrets, the one way we store them (SHA-256, compared by lookup of the digest),
and how strong a secret an operator chooses must be."""

from __future__ import annotations

import hashlib
import math
import secrets
import string
from collections import Counter

# Reset codes are typed by people: no 0/O or 1/I/L to misread.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random string of ``nbytes`` bytes of entropy (256 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def new_code(length: int = 10) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def digest(secret: str) -> str:
    """The at-rest form of a high-entropy secret. Looking up the digest, not the secret,
    means a timing difference in the lookup tells an attacker nothing usable."""
    return hashlib.sha256(secret.encode()).hexdigest()


# Operator-chosen secrets (the admin key, the key-encryption key) must carry at least this
# many bits by ``estimated_bits``: as many as a random key of 16 bytes.
MIN_SECRET_BITS = 128
# zxcvbn's matching grows with the square of the length; a longer key is judged on its start.
_ESTIMATE_CHARS = 100
_SYMBOLS = 33  # printable ASCII that is neither letter nor digit
_CLASSES = (string.digits, string.ascii_lowercase, string.ascii_uppercase)


def _alphabet_size(text: str) -> int:
    """How many characters a random string in the same classes could draw from."""
    if all(c in string.hexdigits for c in text) and (text == text.lower() or text == text.upper()):
        return 16
    size = sum(len(chars) for chars in _CLASSES if any(c in chars for c in text))
    if any(not (c.isascii() and c.isalnum()) for c in text):
        size += _SYMBOLS
    return max(size, 2)


def _observed_bits(symbols: str | bytes) -> float:
    """Length times the entropy per symbol of the symbols' own frequencies (Shannon)."""
    counts = Counter(symbols)
    n = len(symbols)
    return -n * sum(c / n * math.log2(c / n) for c in counts.values())


def estimated_bits(secret: str | bytes) -> float:
    """A cautious estimate of a secret's entropy in bits, for refusing weak ones.

    Bytes (a raw key) are judged by their frequencies alone. Text is the smaller of two
    estimates: its characters' frequencies (catches ``aaaa`` and ``abab``), and zxcvbn's
    reading of it as words, repeats, sequences and dates, where a stretch that matches none
    of those counts log2(alphabet) bits per character (zxcvbn itself counts only log2(10),
    which would refuse a random hex key of 128 bits), or what the stretch is worth read on
    its own, if less (zxcvbn may leave words between separators unread)."""
    if isinstance(secret, bytes):
        return _observed_bits(secret)
    text = secret[:_ESTIMATE_CHARS]
    if not text:
        return 0.0
    return min(_structured_bits(text, math.log2(_alphabet_size(text))), _observed_bits(text))


def _structured_bits(text: str, per_char: float) -> float:
    from zxcvbn import zxcvbn

    bits = 0.0
    for match in zxcvbn(text)["sequence"]:
        token = match["token"]
        if match["pattern"] != "bruteforce":
            bits += math.log2(max(float(match["guesses"]), 1.0))
        elif len(token) < len(text) and len(token) > 2:
            bits += min(len(token) * per_char, _structured_bits(token, per_char))
        else:
            bits += len(token) * per_char
    return bits


def check_secret_strength(secret: str | bytes, what: str) -> None:
    """Refuse a guessable secret with one line that says what to use instead."""
    bits = estimated_bits(secret)
    if bits < MIN_SECRET_BITS:
        raise ValueError(
            f"{what} is guessable (about {int(bits)} bits of entropy, at least "
            f"{MIN_SECRET_BITS} needed): use a random key, e.g. 'openssl rand -base64 32'"
        )
