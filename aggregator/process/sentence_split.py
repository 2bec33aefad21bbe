"""A small, fast sentence splitter for news text in English, French and Spanish.

A boundary is terminal punctuation (``. ! ? …``), optional closing quotes or brackets,
white space, then an upper-case letter, a digit or an opening quote. A full stop does not
end a sentence after:

* a title or a name-bound abbreviation ("Mr.", "Dr.", "St.", "Gen.", "Sra.", "Mme"),
* an initial ("J. Smith", "M. Macron"),
* a dotted abbreviation ("U.S.", "a.m.", "EE.UU.", "D.C.") or a short-form word
  ("Nov.", "No.", "approx.") unless the next word is a usual sentence opener ("The", "Il",
  "El" ...), which is how "... arrived in the U.S. The next day ..." still splits.

Decimals ("3.5") and lower-case continuations ("etc. and") never split; line breaks always do.
"""

from __future__ import annotations

import re

__all__ = ["is_dotted_abbreviation", "split_sentences", "word_count"]

# Abbreviations that precede a name: a full stop after them never ends a sentence.
_TITLES = frozenset(
    "mr mrs ms messrs dr drs prof st ste gen lt col maj capt cpt cmdr adm sgt cpl gov sen "
    "rep reps rev fr hon pres supt insp det mt ft jr sr sra srta sres dra lic ing mme mmes "
    "mlle mlles mgr me pr av avda dña sto sta".split()
)
# Other short forms: a full stop after them ends a sentence only before a sentence opener.
_SHORT_FORMS = frozenset(
    "no nos nº núm vol vols fig figs art arts ch chap cf vs approx est dept univ assn inc "
    "ltd co corp bros jan feb mar apr jun jul aug sep sept oct nov dec janv févr avr juil "
    "déc ene abr ago dic ee uu etc pp p ca env tel".split()
)
_OPENERS = frozenset(
    "the a an it its he she they we i in on at but and this that these those there his her "
    "their after before when while as however meanwhile some many more le la les l il elle "
    "ils elles on un une des ce cette ces en mais selon après el los las lo él ella ellos "
    "ellas una unos unas este esta estos estas pero según tras".split()
)
_BOUNDARY = re.compile(r"([.!?…]+)([\"'”’»)\]]*)(\s+)(?=[\"'“‘«(\[¿¡]?[^\W_])")
_LAST_TOKEN = re.compile(r"(\S+)$")
_NEXT_WORD = re.compile(r"[\"'“‘«(\[¿¡]?([^\W_][\w'’]*)")
_DOTTED = re.compile(r"^(?:[^\W\d_]{1,2}\.)+[^\W\d_]{0,2}\.?$")


def split_sentences(text: str) -> list[str]:
    """Split text into sentences; each keeps its own terminal punctuation."""
    sentences: list[str] = []
    for paragraph in text.splitlines():
        sentences.extend(_split_paragraph(paragraph))
    return sentences


def word_count(sentence: str) -> int:
    """Words as a reader counts them: "24-year-old" is one, a lone dash is none."""
    return sum(1 for token in sentence.split() if any(c.isalnum() for c in token))


def is_dotted_abbreviation(token: str) -> bool:
    """True for "U.S.", "a.m.", "EE.UU.", "D.C." and the short forms above ("Nov.")."""
    stripped = token.strip("\"'“”‘’«»()[],;:")
    if not stripped.endswith("."):
        return False
    core = stripped[:-1]
    if "." in core:
        return bool(_DOTTED.match(stripped))
    return core.casefold() in _TITLES or core.casefold() in _SHORT_FORMS or _is_initial(core)


def _split_paragraph(paragraph: str) -> list[str]:
    out: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        if _is_boundary(paragraph, match):
            piece = paragraph[start : match.start(3)].strip()
            if piece:
                out.append(piece)
            start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        out.append(tail)
    return out


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    if _next_word(text, match.end())[:1].islower():
        return False  # "10 a.m. on Monday", "etc. and", "Yahoo! news"
    if match.group(1) != "." or match.group(2):
        return True  # "?", "!", "…", or a full stop inside closing quotes
    token_match = _LAST_TOKEN.search(text, 0, match.start())
    if token_match is None:
        return True
    token = token_match.group(1).lstrip("\"'“‘«([¿¡")
    next_word = _next_word(text, match.end())
    if next_word[:1].isdigit() and token.casefold() in _SHORT_FORMS:
        return False  # "No. 10", "Nov. 24"
    if "." in token or token.casefold() in _SHORT_FORMS:
        return next_word.casefold() in _OPENERS  # "U.S. officials" vs "the U.S. The"
    return not (token.casefold() in _TITLES or _is_initial(token))


def _next_word(text: str, pos: int) -> str:
    match = _NEXT_WORD.match(text, pos)
    return match.group(1) if match else ""


def _is_initial(token: str) -> bool:
    return len(token) == 1 and token.isalpha() and token.isupper()
