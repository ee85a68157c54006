"""Text helpers every app may use."""

import unicodedata

# Letters that Unicode does not decompose into a base letter and an accent.
_UNDECOMPOSED = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "\u0131": "i", "þ": "th", "ð": "d", "ħ": "h"}
)


def fold(text: str) -> str:
    """Return text in lower case without accents, so "Zoë Müller" and "zoe muller" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_UNDECOMPOSED))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_UNDECOMPOSED)
