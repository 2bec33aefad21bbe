"""Clean the lead area of an article before its first sentences are read.

``lead_paragraphs`` turns HTML or plain text into paragraphs free of page furniture:

1. markup: tags dropped (with the content of figure, caption, script, style, aside, nav ...),
   entities unescaped (twice, for double-escaped feeds), then any markup that unescaping
   revealed is dropped again;
2. characters: odd spaces and invisible characters normalised, curly quotes made straight
   (« » are kept: they are the French and Spanish quotes);
3. whole lines dropped: bylines ("By Jane Doe", "Par ...", "Por ..."), photo captions and
   credits ("Photo: ...", "FILE PHOTO: ...", "Image caption", "... REUTERS/Name"),
   "Updated/Published/Mis à jour/Actualizado" stamps, bare timestamps and reading times,
   "Advertisement", "Listen to this article", "Read more", "Sign up", share prompts,
   wire tails ("Reporting by ...; Editing by ...");
4. inline furniture: a byline or kicker opening the first paragraph ("EXCLUSIVE: "),
   "(Photo by X/AFP)" credits, WordPress "The post ... appeared first on ..." tails.

The dateline is left to :func:`aggregator.process.dateline.split_dateline`.

``finish_clause`` makes a chosen clause printable: one sentence, no markup, no ellipsis,
no terminal punctuation (a full stop inside closing quotes moves out: 'help."' ->
'help"'), no unbalanced quote or bracket.
"""

from __future__ import annotations

import html
import re

from aggregator.process.sentence_split import is_dotted_abbreviation, split_sentences

__all__ = [
    "ends_with_abbreviation",
    "finish_clause",
    "lead_paragraphs",
    "normalise",
    "strip_markup",
]

_MAX_CHARS = 8000  # the lead area is at the top; long articles are not read further

_DROP_BLOCKS = re.compile(
    r"<(script|style|noscript|figure|figcaption|aside|nav|footer|header|button|form|svg|"
    r"template|iframe)\b[^>]*>.*?</\1\s*>|<!--.*?-->",
    re.IGNORECASE | re.DOTALL,
)
_BREAKS = re.compile(
    r"<\s*(?:br|/p|p|/div|div|/li|li|/h[1-6]|h[1-6]|/tr|/blockquote)\b[^>]*>", re.I
)
_TAG = re.compile(r"</?[a-zA-Z!][^<>]*>")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]{2,8});")
_CHARS = str.maketrans(
    {
        **dict.fromkeys("\u00a0\u2007\u202f\u2009\u200a\u2002\u2003\u2005\u2006\t\f\v\r", " "),
        **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", ""),
        **dict.fromkeys("“”„‟″〝〞＂", '"'),
        **dict.fromkeys("‘’‚‛′", "'"),
    }
)
_SPACES = re.compile(r"[ ]{2,}")

_NAME = r"[A-ZÀ-Þ][a-zà-ÿ'.\-]+(?:\s+[A-ZÀ-Þ][a-zà-ÿ'.\-]+){0,3}"
_BYLINE_LINE = re.compile(
    rf"(?i:by|par|por)\s+{_NAME}(?:\s*(?:,|and|&|et|y)\s*{_NAME})*"
    r"(?:\s*(?:,|\||-|–|—|in|à|en|for|pour|para)\s*.{0,60})?"
)
_BYLINE_INLINE = re.compile(
    rf"(?:By|BY|Par|Por)\s+{_NAME}(?:\s*(?:,|and|&|et|y)\s*{_NAME})*"
    r"(?:\s*,\s*(?:Reuters|AFP|AP|EFE|Associated Press|Agence France-Presse))?\s*[|•·]?\s*"
    r"(?=[A-ZÀ-Þ'’.\-]{3,}\b|\()"
)
_LINE_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"(?:advertisement|advertising|publicité|publicidad|anuncio|sponsored(?: content)?"
        r"|contenido patrocinado|story continues below(?: advertisement)?"
        r"|continue reading(?: the main story)?|skip (?:to|past) .*)\W*",
        r"(?:listen to this article|écouter cet article|escuchar (?:este )?artículo|listen"
        r"|écouter|escuchar)\b.{0,30}",
        r"(?:read more|read also|also read|see also|related(?: articles?| stories)?|more on this"
        r"|lire aussi|à lire aussi|lire la suite|voir aussi|leer más|lee también|te puede "
        r"interesar|más información|relacionad[oa]s?|continuer? la lecture)\b.{0,200}",
        r"(?:sign up|subscribe|get our|newsletter|inscrivez-vous|abonnez-vous|suscr[ií]bete"
        r"|reg[ií]strate|recevez)\b.{0,250}",
        r"(?:(?:share|partager|partagez|compartir|comparte|tweet|email|e-mail|print|copy"
        r"|imprimer|imprimir)\b(?:[\s,|:/]+(?:this|on|via|with|cet|sur|en|este|article|story"
        r"|page|link|artículo|lien|enlace|facebook|twitter|x|whatsapp|linkedin|email|e-mail"
        r"|mail|messenger|telegram|reddit|bluesky|threads|copy|print|correo|imprimir"
        r"|imprimer))*|(?:follow us|suivez-nous|síguenos)\b.{0,80})\W*",
        r"(?:file photo|photo d'archive|foto de archivo|image caption|image source|caption"
        r"|photo|photos|photograph|picture|pictured|image|foto|fotografía|crédits?(?: photo)?"
        r"|credit|crédito|illustration|video|vidéo|vídeo)\s*[:,|].*",
        r"(?:\(?(?:additional )?(?:reporting|writing|editing|compiled) by\b.*"
        r"|con información de .*|avec (?:l')?(?:afp|reuters|ap)\.?|.{0,40} avec afp)",
        r"(?:getty images|afp|reuters|ap|epa|efe)(?: via getty images)?\W*",
    )
)
_CAPTION_CREDIT = re.compile(
    r"\b(?:REUTERS|AFP|EPA|ANSA|EFE)/|\bAP Photo\b|Getty Images|\bvia Getty\b|/Getty\b"
)
_STAMP_PREFIX = re.compile(
    r"(?:last\s+)?(?:updated|published|posted|modified|mis à jour|publié|modifié|actualizado"
    r"|publicado|última actualización)(?:\s+(?:on|at|le|à|el|a las))?\s*:?\s*",
    re.IGNORECASE,
)
_TIME_WORDS = frozenset(
    "am pm a.m p.m gmt utc bst cet cest et est edt pt pst pdt hrs h at on le à el de del "
    "a las la il y hace ago hour hours minute minutes min mins read lecture lectura temps "
    "tiempo de heure heures hora horas seg sec jan feb mar apr may jun jul aug sep sept oct "
    "nov dec january february march april june july august september october november "
    "december janvier février mars avril mai juin juillet août septembre octobre novembre "
    "décembre enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre monday tuesday wednesday thursday friday saturday sunday lundi mardi mercredi "
    "jeudi vendredi samedi dimanche lunes martes miércoles jueves viernes sábado domingo "
    "today yesterday aujourd'hui hier hoy ayer".split()
)
_TIME_TOKEN = re.compile(r"[\w.'’]+")
_CLOCK = re.compile(r"^\d{1,4}(?:[:h.]\d{2})?(?:st|nd|rd|th|er)?$")
_KICKER = re.compile(
    r"(?:BREAKING(?: NEWS)?|EXCLUSIVE|UPDATE(?: \d+)?|WATCH|LIVE|ANALYSIS|OPINION|FACT CHECK"
    r"|EXPLAINER|URGENT|ALERTE|EN DIRECT|ÚLTIMA HORA|EXCLUSIF|EXCLUSIVA|REFILE|CORRECTED)"
    r"\s*(?:[:|\-–—]\s*|\s+(?=[A-Z]))"
)
_INLINE_CREDIT = re.compile(
    r"\s*\((?:(?:AP |AFP |Reuters )?photos?|fotos?|picture|image|crédits?|credit|crédito)"
    r"\b[^()]{0,80}\)|\s*\([^()]{0,60}(?:/AFP|/Reuters|/AP|Getty Images)[^()]{0,30}\)",
    re.IGNORECASE,
)
_WP_TAIL = re.compile(r"\s*The post .{1,300}? appeared first on .{1,120}?\.?\s*$", re.I | re.M)
_TRUNCATION = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.)\s*\]|\[\+\d+ chars\])\s*$")


def lead_paragraphs(text: str) -> list[str]:
    """Paragraphs of the lead area with page furniture removed (dateline kept)."""
    plain = normalise(strip_markup(text[:_MAX_CHARS]))
    plain = _WP_TAIL.sub("", plain)
    paragraphs = []
    for raw in plain.split("\n"):
        line = _clean_line(raw)
        if line:
            paragraphs.append(line)
    if paragraphs:
        paragraphs[0] = _strip_opening(paragraphs[0])
    return [p for p in paragraphs if p]


def strip_markup(text: str) -> str:
    """Drop tags and unescape entities, twice over for double-escaped feeds."""
    if "<" in text:
        text = _TAG.sub(" ", _BREAKS.sub("\n", _DROP_BLOCKS.sub(" ", text)))
    for _ in range(2):
        if "&" not in text or not _ENTITY.search(text):
            break
        text = html.unescape(text)
        if "<" in text:
            text = _TAG.sub(" ", _BREAKS.sub("\n", _DROP_BLOCKS.sub(" ", text)))
    return text


def normalise(text: str) -> str:
    """Straight quotes, plain spaces, one space between words, trimmed lines."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.translate(_CHARS).split("\n"))
    return "\n".join(line for line in lines if line)


def _clean_line(line: str) -> str:
    line = _INLINE_CREDIT.sub("", line)
    line = _TRUNCATION.sub(" …", line).strip()
    if not line or _is_furniture(line):
        return ""
    stamp = _STAMP_PREFIX.match(line)
    if stamp and _is_time_token(line[stamp.end() :].split(" ", 1)[0]):
        line = _drop_time_tokens(line[stamp.end() :])
    return "" if _is_timestamp(line) else line


def _is_furniture(line: str) -> bool:
    words = len(line.split())
    if words <= 14 and _BYLINE_LINE.fullmatch(line):
        return True
    if words <= 60 and _CAPTION_CREDIT.search(line):
        return True
    return words <= 45 and any(p.fullmatch(line) for p in _LINE_PATTERNS)


def _drop_time_tokens(rest: str) -> str:
    """After "Updated", drop the date and time that follow and keep any text after them."""
    tokens = rest.split()
    index = 0
    while index < len(tokens) and _is_time_token(tokens[index]):
        index += 1
    return " ".join(tokens[index:])


def _is_timestamp(line: str) -> bool:
    tokens = _TIME_TOKEN.findall(line)
    return bool(tokens) and len(tokens) <= 14 and all(_is_time_token(t) for t in tokens)


def _is_time_token(token: str) -> bool:
    core = token.strip(",.;:|·•-–—()'\"").casefold()
    return not core or core in _TIME_WORDS or bool(_CLOCK.match(core))


def _strip_opening(paragraph: str) -> str:
    """A byline or a kicker opening the text, before its dateline."""
    for pattern in (_BYLINE_INLINE, _KICKER):
        match = pattern.match(paragraph)
        if match and match.end() < len(paragraph):
            paragraph = paragraph[match.end() :].lstrip(" |•·:-–—")
    return paragraph


def finish_clause(text: str) -> str:
    """One clean sentence body: no markup, ellipsis, terminal punctuation or open quote."""
    text = normalise(strip_markup(text)).replace("\n", " ")
    text = re.sub(r"\s*(?:…|\.{2,}|\[\s*\])\s*", " ", text).strip()
    pieces = split_sentences(text)
    text = pieces[0] if pieces else ""
    text = _close_quotes(_strip_terminal(text.strip(" ,;:-–—|")))
    return _strip_terminal(text.strip())


def _strip_terminal(text: str) -> str:
    while text:
        if text[-1] in ",;:-–—!?" or text[-1].isspace():
            text = text[:-1]
        elif len(text) > 1 and text[-1] in "\"'»)" and text[-2] in ".!?,;:":
            text = text[:-2] + text[-1]  # 'help."' -> 'help"'
        elif text[-1] == "." and not ends_with_abbreviation(text):
            text = text[:-1]
        else:
            return text
    return text


def _close_quotes(text: str) -> str:
    if text.count('"') % 2:
        index = text.rfind('"')
        text = (text[:index] + text[index + 1 :]).replace("  ", " ")
    if text.count("(") > text.count(")"):
        text = text[: text.rfind("(")].rstrip(" ,;:")
    if text.count("«") != text.count("»"):
        text = text.replace("«", "").replace("»", "").replace("  ", " ")
    return text


def ends_with_abbreviation(text: str) -> bool:
    """True when the text ends with a dotted abbreviation ("U.S.", "a.m."): no extra stop."""
    last = text.rsplit(None, 1)[-1] if text.strip() else ""
    return last.endswith(".") and "." in last[:-1] and is_dotted_abbreviation(last)
