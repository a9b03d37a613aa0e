"""Text from the data made fit to publish: invisible characters removed, private data replaced.

:func:`visible` removes what a reader cannot see but a terminal, a browser or a bidi algorithm
acts on: ANSI escape sequences, control characters, bidi controls and zero-width characters.
:func:`redact` calls it first, then replaces private data with placeholders:

- ``[email]``: addresses, also spelled ``name(at)domain.com``, ``name [at] domain [dot] com``,
  ``a @ b.com`` (spaces around the @) and ``a@localhost`` (no dot after the @);
- ``[iban]``: IBANs, spaced in groups of four or not, that pass the ISO 13616 mod-97 check;
- ``[card]``: card numbers of 15 to 19 digits, unbroken or grouped as cards are printed
  (4-4-4-4, 4-4-4-4-3, 4-6-5), that pass the Luhn check;
- ``[id]``: a letter/digit id of 6 to 12 characters with at least one digit, right after
  "passport", "pass no", "ID card", "Reisepass", "pasaporte", "DNI" and the like;
- ``[phone]``: runs of 7 to 15 digits with the separators phone numbers use.

Dates, clock times, decimals as statistics print them (-0.004297), percentages and amounts
(1,234.56) are left alone. The checksums are why an order id or a tracking number of 16 digits
is not redacted: a card number or IBAN mistyped by the customer fails its check and is kept,
while one in ten (Luhn) or one in 97 (IBAN) ordinary numbers of the right shape is redacted.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["redact", "visible"]

# CSI (colours, cursor moves; ESC [ or its 8-bit form), then OSC/DCS/SOS/PM/APC strings up to
# their terminator (an OSC 8 hyperlink's URL goes, its link text stays), then character-set
# escapes (ESC ( B). Any other ESC is removed alone below: a stray ESC before a word must not
# take the word's first letter with it. Payloads stop at any ESC or C1 byte: the scan is linear.
_ANSI = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
                   r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x80-\x9f]*(?:\x07|\x1b\\|\x9c)"
                   r"|\x1b[#%()*+./-][0-~]")
# control characters that separate words (vertical tab, form feed, the information separators,
# NEL and a lone carriage return) become a space: deleting them would glue two words together
_SPACING = re.compile(r"[\r\x0b\x0c\x1c-\x1f\x85]")
# the other C0 and C1 controls (\n and \t are kept), then invisible format characters: soft
# hyphen, bidi marks, embeddings, overrides and isolates (U+200E/F, U+202A-E, U+2066-9, U+061C),
# zero-width space/joiners (U+200B-D), word joiner and invisible operators (U+2060-4),
# deprecated format controls (U+206A-F), BOM (U+FEFF), interlinear annotation and tag
# characters (U+E0000 block, used to smuggle ASCII invisibly). Emoji built with U+200D or
# tags (family emoji, subdivision flags) fall apart into their parts: a price worth paying.
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u061c\u180e\u200b-\u200f"
                        "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
                        "\U000e0001\U000e0020-\U000e007f]")

_GAP = r"[^\S\n]"  # a space within a line: also no-break and thin spaces, as numbers use them
_DASH = "-\u2010-\u2013"  # hyphen-minus, hyphen, non-breaking hyphen, figure dash, en dash
_AT = rf"(?:{_GAP}*[@\uff20\ufe6b]{_GAP}*|{_GAP}*[(\[{{<]{_GAP}*at{_GAP}*[)\]}}>]{_GAP}*)"
_DOT = rf"(?:\.|{_GAP}*[(\[{{<]{_GAP}*dot{_GAP}*[)\]}}>]{_GAP}*)"
# \w is Unicode in Python 3: müller@bücher.de and 用户@例子.广告 are addresses too. A match
# starts only where a word starts, so a long word without @ is scanned once, not once a letter.
_EMAIL = re.compile(rf"(?<![\w.%+-])[\w.%+-]+{_AT}[\w-]+(?:{_DOT}[\w-]+)*{_DOT}[^\W\d_]{{2,}}"
                    r"|(?<![\w.%+-])[\w.%+-]+[@\uff20\ufe6b][^\W\d_][\w-]*", re.IGNORECASE)
# two letters, two check digits, 11 to 30 letters or digits, maybe spaced; trimmed and
# checked in _iban (the greedy match may run on into the next words)
_IBAN = re.compile(rf"(?<![^\W_])[A-Za-z]{{2}}\d{{2}}(?:{_GAP}?[A-Za-z0-9]){{11,30}}(?![^\W_])")
# a run of digit groups; atomic, so a run is taken whole or not at all. Not inside a decimal
# (0.4111111111111111 is a probability) and not after a + (a phone number's country code).
_DIGITS = re.compile(rf"(?<![\w+])(?<!\d[.,])(?>\d+(?:(?:{_GAP}|[{_DASH}])\d+)*)(?![\w]|[.,]\d)")
_CARD_LAYOUTS = ((4, 4, 4, 4, 3), (4, 4, 4, 4), (4, 6, 5))
_ID = re.compile(
    r"(\b(?:passports?|passeport|pasaporte|passaporto|passaporte|reisepass|personalausweis|dni"
    r"|(?:id|identity)[ -]?card|national[ -]id|pass(?=[^\S\n]*(?:no|nr|num|number)\b))\b"
    r"(?:[^\S\n]*(?:(?:number|numero|número|nummer|num|nr|no|n[º°]|is|was)\b\.?|[#:=-]))*[^\S\n]*)"
    r"((?=[^\W\d_]*\d)[^\W_]{6,12})(?![\w-])", re.IGNORECASE)
# A run of digits with the separators phone numbers use; checked for 7..15 digits below
_PHONE = re.compile(rf"(?<![\w@])\+?\(?\d(?:[{_DASH}\d().]|{_GAP}){{4,}}\d(?!\w)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# dates and clock times are shielded before phone numbers are looked for: "2025-06-30 12:00"
# and "12.06.2025 14:30" are timestamps, not "[phone]:00"
_TIMESTAMP = re.compile(r"(?<![\d./:-])(?:\d{4}-\d{2}-\d{2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
                        r"|\d{4}-(?:0[1-9]|1[0-2])(?![\d-])"  # a month, "2018-08", as in "2018-06 to 2018-08 (95% CI"
                        "|(?:19|20)\\d{2} ?[-\u2013] ?(?:19|20)\\d{2}"  # a range of years, "2019-2024"
                        r"|\d{1,2}[./]\d{1,2}[./]\d{2,4}(?:,? \d{1,2}:\d{2}(?::\d{2})?)?"
                        r"|\d{1,2}:\d{2}(?::\d{2})?)(?![./:-]?\d)")


def visible(text):
    """Text without what a reader cannot see: ANSI escapes, control, bidi and zero-width characters.

    ``\\n`` and ``\\t`` are kept, ``\\r\\n`` becomes ``\\n``; a lone ``\\r`` (and the other
    controls that separate words: vertical tab, form feed) becomes a space, so no text hides
    behind a carriage return and no two words are glued. Accepts a string (None and NaN pass
    through) or a pandas Series.

    Examples
    --------
    >>> gapkit.text.visible("\\x1b[31mlate\\x1b[0m again, share \\u202e0.357\\u202c, +49\\u200b170")
    'late again, share 0.357, +49170'
    """
    if isinstance(text, pd.Series):
        return text.map(visible)
    if not isinstance(text, str):
        return text
    text = _ANSI.sub("", text).replace("\r\n", "\n")
    return _INVISIBLE.sub("", _SPACING.sub(" ", text))


def redact(text):
    """Replace private data with "[email]", "[iban]", "[card]", "[id]" and "[phone]".

    Invisible characters are removed first (:func:`visible`): a zero-width space inside a phone
    number or an address must not hide it from the patterns, and what is published is what
    was checked. See the module's docstring for the rules; ISO dates, timestamps, decimals,
    percentages and amounts are left alone. Accepts a string (None and NaN pass through) or a
    pandas Series.

    Examples
    --------
    >>> gapkit.text.redact("Call +1 555-0142 or mail jane.doe@example.com")
    'Call [phone] or mail [email]'
    >>> gapkit.text.redact("IBAN DE89 3704 0044 0532 0130 00, card 4111-1111-1111-1111, passport C01X00T47")
    'IBAN [iban], card [card], passport [id]'
    """
    if isinstance(text, pd.Series):
        return text.map(redact)
    if not isinstance(text, str):
        return text
    text = _EMAIL.sub("[email]", visible(text))
    text = _IBAN.sub(_iban, text)
    text = _DIGITS.sub(_cards, text)
    text = _ID.sub(r"\1[id]", text)  # before phones: "passport no. 123456789" has nine digits
    # visible() removed every \0, so the shield cannot meet one in the text
    shielded = _TIMESTAMP.sub(lambda m: "\0" * len(m.group(0)), text)
    pieces, last = [], 0
    for match in _PHONE.finditer(shielded):
        if _phone_or_not(match) == "[phone]":
            pieces += [text[last:match.start()], "[phone]"]
            last = match.end()
    return "".join(pieces) + text[last:]


def _iban_valid(candidate: str) -> bool:
    if not (candidate.isupper() or candidate.islower()):
        return False  # "FY24 results were bad" is a sentence; IBANs are printed in one case
    compact = re.sub(r"\s", "", candidate).upper()
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _iban(match: re.Match) -> str:
    """The longest prefix of the match, ending where a group ends, that is a valid IBAN."""
    found = match.group(0)
    ends = [len(found)] + [m.start() for m in re.finditer(r"\s", found)][::-1]
    for end in ends:
        if _iban_valid(found[:end]):
            return "[iban]" + found[end:]
    return found


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _cards(match: re.Match) -> str:
    """The run with every card number in it replaced: an unbroken group of 15 to 19 digits, or
    consecutive groups in a card's printed layout, that passes the Luhn check."""
    parts = re.split(rf"((?:{_GAP}|[{_DASH}])+)", match.group(0))
    groups, seps = parts[::2], parts[1::2]
    out, i = [], 0
    while i < len(groups):
        size = next((len(layout) for layout in _CARD_LAYOUTS
                     if tuple(map(len, groups[i:i + len(layout)])) == layout
                     and _luhn("".join(groups[i:i + len(layout)]))), 0)
        if not size and 15 <= len(groups[i]) <= 19 and _luhn(groups[i]):
            size = 1
        out.append("[card]" if size else groups[i])
        i += max(size, 1)
        if i < len(groups):
            out.append(seps[i - 1])
    return "".join(out)


def _phone_or_not(match: re.Match) -> str:
    found = match.group(0)
    digits = sum(ch.isdigit() for ch in found)
    if not 7 <= digits <= 15 or _ISO_DATE.fullmatch(found.strip()):
        return found
    if re.fullmatch(r"\(?[+-]?0?\.\d+|\(?[+-]?\d{1,3}\.\d+", found.strip()):
        return found  # a decimal number ("-0.004297", "+12.34567"), as statistics print them
    return "[phone]"
