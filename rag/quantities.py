"""Times, dates, amounts, percentages and numbers of a text, each read whole.

Verification compares what a sentence states with what its passage says value by value,
not digit by digit: "12:30" is a time, not a 12 and a 30 that any passage may hold apart.
Each value is reduced to keys that name it whatever its spelling:

- a time "14:30", "14h30", "2:30 pm" -> "t:14:30"; "9h", "9 am", "09:00" also read as the
  number 9 ("open at 9");
- a date "1 March 2026", "2026-03-01", "1er mars 2026", "01/03/2026" -> "d:2026-03-01"
  (a numeric date that reads both ways, day or month first, has both readings); a passage's
  full date also holds its month ("March 2026"), its day ("1 March") and its year (2026);
- an amount "EUR 1.5 million", "€1,500,000", "1 500 000 €" -> "$EUR:1500000";
- a percentage "5.5 %", "5,5 pour cent" -> "%:5.5";
- any other number, French "1 234,5" included -> "n:1234.5".

A passage's amount or percentage also holds its bare number ("the fee is 25" against
"EUR 25"). A bare number of a passage holds an amount or a percentage only when the
passage names the currency or the percent sign unattached ("Fee (EUR) | 25",
"Rate (%) | 3.5"): "5 %" is not in "5.5 % … within 5 days".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache, partial

from indexes.text import fold

_NUM = r"(?<!\d)(?:\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?(?!\d)|\d+(?:[.,]\d+)*)"
_CURRENCY_CODES = {
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "$": "USD", "us$": "USD",
    "usd": "USD", "dollar": "USD", "dollars": "USD", "£": "GBP", "gbp": "GBP",
    "pound": "GBP", "pounds": "GBP", "livre": "GBP", "livres": "GBP", "chf": "CHF",
    "franc": "CHF", "francs": "CHF", "¥": "JPY", "jpy": "JPY", "yen": "JPY", "yens": "JPY",
    "cad": "CAD", "aud": "AUD", "sek": "SEK", "nok": "NOK", "dkk": "DKK", "pln": "PLN",
}
_CUR_PREFIX = r"us\$|€|\$|£|¥|eur|usd|gbp|chf|jpy|cad|aud|sek|nok|dkk|pln"
_CUR_SUFFIX = _CUR_PREFIX + r"|euros?|dollars?|pounds?|livres? sterling|francs?|yens?"
_SCALES = {
    "k": 3, "thousand": 3, "thousands": 3, "mille": 3, "m": 6, "mn": 6, "mio": 6,
    "million": 6, "millions": 6, "b": 9, "bn": 9, "md": 9, "mrd": 9, "billion": 9,
    "billions": 9, "milliard": 9, "milliards": 9,
}
_SCALE = r"thousands?|mille|millions?|billions?|milliards?|mrd|mio|mn|md|bn|k|m|b"
_WORD_SCALE = r"thousands?|millions?|billions?|milliards?"
_MONTHS = {
    "january": 1, "jan": 1, "janvier": 1, "janv": 1, "february": 2, "feb": 2, "fevrier": 2,
    "fevr": 2, "fev": 2, "march": 3, "mar": 3, "mars": 3, "april": 4, "apr": 4, "avril": 4,
    "avr": 4, "may": 5, "mai": 5, "june": 6, "jun": 6, "juin": 6, "july": 7, "jul": 7,
    "juillet": 7, "juil": 7, "august": 8, "aug": 8, "aout": 8, "september": 9, "sept": 9,
    "sep": 9, "septembre": 9, "october": 10, "oct": 10, "octobre": 10, "november": 11,
    "nov": 11, "novembre": 11, "december": 12, "dec": 12, "decembre": 12,
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY = r"(?P<d>[0-3]?\d)(?:st|nd|rd|th|er|e|eme)?"
_YEAR = r"(?P<y>(?:19|20)\d\d)"

# In the order they are read; each takes its text out of the reach of those after it.
_DATES = (
    re.compile(rf"\b{_YEAR}[-/](?P<m>[01]?\d)[-/](?P<d>[0-3]?\d)\b"),
    re.compile(r"\b(?P<a>[0-3]?\d)[/.](?P<b>[01]?\d)[/.](?P<y>(?:19|20)\d\d)\b"
               r"|\b(?P<a2>[0-3]?\d)/(?P<b2>[0-3]?\d)/(?P<y2>\d\d)\b"
               r"|\b(?P<a3>[0-3]?\d)/(?P<b3>[0-3]?\d)\b(?!/)"),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?(?P<m>{_MONTH})\b\.?(?:,?\s+{_YEAR}\b)?"),
    re.compile(rf"\b(?P<m>{_MONTH})\b\.?\s+{_DAY}\b(?:,?\s+{_YEAR}\b)?"),
    re.compile(rf"\b(?P<m>{_MONTH})\b\.?\s+{_YEAR}\b"),
)
_TIMES = (
    re.compile(r"\b(?P<h>1[0-2]|0?[1-9])(?:[:.](?P<mi>[0-5]\d))?\s*(?P<p>a\.?m\b\.?|p\.?m\b\.?)"),
    re.compile(r"\b(?P<h>[01]?\d|2[0-3])\s*[:h]\s*(?P<mi>[0-5]\d)\b"),
    re.compile(r"\b(?P<h>[01]?\d|2[0-3])\s*h\b(?!\s*\d)"),
)
_AMOUNTS = (
    re.compile(rf"(?<![a-z])(?P<c>{_CUR_PREFIX})\s?(?P<n>{_NUM})(?:\s*(?P<s>{_SCALE})(?![a-z]))?"),
    re.compile(rf"(?P<n>{_NUM})(?:\s*(?P<s>{_SCALE})(?![a-z]))?\s*(?:d'|de\s+|of\s+)?"
               rf"(?P<c>{_CUR_SUFFIX})(?![a-z])"),
)
_PERCENT = re.compile(rf"(?P<n>{_NUM})\s*(?:%|percent\b|per\s*cent\b|pour\s*cent\b|pct\b)")
_SCALED = re.compile(rf"(?P<n>{_NUM})(?P<s>\s*(?:{_WORD_SCALE})\b|(?:k|bn)\b)")
# "8.45", "15.30": a time as often as a decimal; either reading counts.
_DOT_TIME = re.compile(r"(?:[01]?\d|2[0-3])\.[0-5]\d")
_PLAIN = re.compile(_NUM)
_LIST_MARKER = re.compile(r"^\s*\d+[.)]\s+")
_BARE_PERCENT = re.compile(r"%|\bper\s*cent\b|\bpercent(?:age)?\b|\bpour\s*cent(?:age)?\b")
_BARE_CURRENCY = re.compile(rf"(?<![a-z])(?:{_CUR_SUFFIX})(?![a-z])")
# Small numbers spelled out ("six months", "deux jours"), English and French; also read by
# rag.verification, whose passage side counts both forms.
NUMBER_WORDS = {
    word: value
    for words, value in (
        ("zero zéro", 0), ("one un une", 1), ("two deux", 2), ("three trois", 3),
        ("four quatre", 4), ("five cinq", 5), ("six", 6), ("seven sept", 7), ("eight huit", 8),
        ("nine neuf", 9), ("ten dix", 10), ("eleven onze", 11), ("twelve douze", 12),
        ("fifteen quinze", 15), ("twenty vingt", 20), ("thirty trente", 30),
        ("forty quarante", 40), ("fifty cinquante", 50), ("sixty soixante", 60),
        ("hundred cent", 100),
    )
    for word in words.split()
}
# Letters only: words without their digits and underscores (read by verification and the
# pointer-sentence test too).
WORDS = re.compile(r"[^\W\d_]+")


def spelled_numbers(text: str) -> set[str]:
    """The numbers a lower-case text spells out, as digits: "six" and "deux" -> "6", "2"."""
    return {str(NUMBER_WORDS[w]) for w in WORDS.findall(text) if w in NUMBER_WORDS}


@dataclass(frozen=True)
class Quantity:
    """One value a text states: its kind ("number", "time", "date", "amount", "percent"),
    as written, the keys any of which name it, the keys it offers when a passage states it."""

    kind: str
    text: str
    needs: frozenset[str]
    offers: frozenset[str]


def number_value(raw: str) -> Decimal | None:
    """'1,000' -> 1000, '4,5' -> 4.5, '1 234,5' -> 1234.5, '1.000.000' -> 1000000."""
    text = re.sub(r"[ \u00a0\u202f]", "", raw)
    if "." in text and "," in text:
        decimal = max(text.rindex("."), text.rindex(","))
        text = re.sub(r"[.,]", "", text[:decimal]) + "." + text[decimal + 1:]
    elif text.count(".") > 1 or text.count(",") > 1:
        text = re.sub(r"[.,]", "", text)
    elif re.fullmatch(r"\d+,\d{3}", text):
        text = text.replace(",", "")  # "1,000", as verification always read it
    text = text.replace(",", ".")
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _key(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _date_keys(year: int | None, month: int, day: int | None) -> tuple[str, set[str]]:
    """The key a date stated so needs, and the keys it offers."""
    if day is None:
        return f"d:{year}-{month:02}", {f"d:{year}-{month:02}", f"n:{year}"}
    if year is None:
        return f"d:-{month:02}-{day:02}", {f"d:-{month:02}-{day:02}"}
    full = f"d:{year}-{month:02}-{day:02}"
    return full, {full, f"d:{year}-{month:02}", f"d:-{month:02}-{day:02}", f"n:{year}"}


def _date(match: re.Match[str]) -> Quantity | None:
    groups = {k: v for k, v in match.groupdict().items() if v}
    readings: set[tuple[int | None, int, int | None]]
    if numeric := [groups[k] for k in ("a", "b", "a2", "b2", "a3", "b3") if k in groups]:
        # Day or month first: both readings, since documents and answers use either.
        first, second = int(numeric[0]), int(numeric[1])
        year = int(groups["y"]) if "y" in groups else (
            2000 + int(groups["y2"]) if "y2" in groups else None)
        readings = {(year, m, d) for m, d in ((second, first), (first, second))}
    else:
        month = groups["m"]
        number = _MONTHS[month] if not month.isdigit() else int(month)
        day = int(groups["d"]) if "d" in groups else None
        if month == "may" and "y" not in groups:
            return None  # "fees of 5 may apply"
        readings = {(int(groups["y"]) if "y" in groups else None, number, day)}
    readings = {(y, m, d) for y, m, d in readings if 1 <= m <= 12 and (d is None or 1 <= d <= 31)}
    if not readings:
        return None
    keys = [_date_keys(*reading) for reading in readings]
    return Quantity("date", match.group(0), frozenset(k for k, _ in keys),
                    frozenset().union(*(offers for _, offers in keys)))


def _time(match: re.Match[str]) -> Quantity:
    groups = match.groupdict()
    hour, minutes = int(groups["h"]), int(groups.get("mi") or 0)
    if groups.get("p"):
        hour = hour % 12 + (12 if groups["p"].startswith("p") else 0)
    key = f"t:{hour:02}:{minutes:02}"
    # "9h", "9 am", "09:00": also the hour alone ("open at 9"); never 12 for 12:30.
    whole = {f"n:{hour}"} if minutes == 0 else set()
    needs = {key} | (whole if groups.get("mi") is None else set())
    return Quantity("time", match.group(0), frozenset(needs), frozenset({key} | whole))


def _amount(match: re.Match[str]) -> Quantity | None:
    value = number_value(match["n"])
    if value is None:
        return None
    value *= Decimal(10) ** _SCALES.get(match["s"] or "", 0)
    currency = _CURRENCY_CODES[match["c"].split()[0]]
    key = f"${currency}:{_key(value)}"
    return Quantity("amount", match.group(0), frozenset({key}),
                    frozenset({key, f"n:{_key(value)}"}))


def _percent(match: re.Match[str]) -> Quantity | None:
    value = number_value(match["n"])
    if value is None:
        return None
    key = f"%:{_key(value)}"
    return Quantity("percent", match.group(0), frozenset({key}),
                    frozenset({key, f"n:{_key(value)}"}))


def _number(match: re.Match[str]) -> Quantity | None:
    value = number_value(match["n"] if "n" in match.re.groupindex else match.group(0))
    if value is None:
        return None
    if "s" in match.re.groupindex:
        value *= Decimal(10) ** _SCALES[match["s"].strip()]
    keys = {f"n:{_key(value)}"}
    if _DOT_TIME.fullmatch(match.group(0)):
        hour, minutes = match.group(0).split(".")
        keys.add(f"t:{int(hour):02}:{minutes}")
    return Quantity("number", match.group(0), frozenset(keys), frozenset(keys))


Reader = Callable[[re.Match[str]], Quantity | None]
_READERS: tuple[tuple[re.Pattern[str], Reader], ...] = (
    *((pattern, _date) for pattern in _DATES), *((pattern, _time) for pattern in _TIMES),
    *((pattern, _amount) for pattern in _AMOUNTS), (_PERCENT, _percent), (_SCALED, _number),
    (_PLAIN, _number),
)


def _read(text: str) -> tuple[list[Quantity], str]:
    """The quantities of a folded text, and the text left once they are blanked out."""
    found: list[Quantity] = []
    for pattern, reader in _READERS:
        text = pattern.sub(partial(_take, reader=reader, found=found), text)
    return found, text


def _take(match: re.Match[str], reader: Reader, found: list[Quantity]) -> str:
    """What replaces a match: blanks once read as a quantity, else the match itself."""
    quantity = reader(match)
    if quantity is None:
        return match.group(0)
    found.append(quantity)
    return " " * len(match.group(0))


def quantities(text: str) -> list[Quantity]:
    """The values a sentence states, each whole, in no particular order; a leading list
    marker ("1. ") is not one."""
    return _read(_LIST_MARKER.sub(" ", fold(text)))[0]


@dataclass(frozen=True)
class Holding:
    """What one passage states, as keys a sentence's quantities may name."""

    keys: frozenset[str]

    def holds(self, quantity: Quantity) -> bool:
        """Whether the passage states this value."""
        return bool(quantity.needs & self.keys)


@lru_cache(maxsize=512)
def holding(passage: str) -> Holding:
    """The keys a passage offers: its values', its spelled-out numbers', and those its bare
    numbers take from an unattached currency or percent sign (cached: every sentence of an
    answer, checked again as the answer grows, reads the same few passages)."""
    found, rest = _read(fold(passage))
    keys: set[str] = set().union(*(q.offers for q in found))
    spelled = spelled_numbers(rest)
    keys |= {f"n:{n}" for n in spelled}
    bare = {k[2:] for q in found if q.kind == "number" for k in q.needs
            if k.startswith("n:")} | spelled
    if _BARE_PERCENT.search(rest):
        keys |= {f"%:{n}" for n in bare}
    for currency in {_CURRENCY_CODES[c.split()[0]] for c in _BARE_CURRENCY.findall(rest)}:
        keys |= {f"${currency}:{n}" for n in bare}
    return Holding(frozenset(keys))
