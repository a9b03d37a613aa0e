"""Hostile text: private data and invisible characters never reach a published report.

Each case is a real input and the exact text a report shows: every form of private data
(IBAN, card, obfuscated e-mail, phone split by invisible characters, passport-like id), every
class of invisible character (ANSI escapes, C0/C1 controls, bidi controls, zero-width
characters), and the text that must stay as it is (dates, decimals, money, KPI lines, order
ids failing the Luhn check, words near "passport" that are not ids). Then the same strings go
through the functions that publish tables and findings.
"""

import unicodedata

import pandas as pd
import pytest

from gapkit.analysis.redaction import _luhn
from gapkit.analysis.text import phrases_of, redact, visible
from gapkit.report import formatting, publish

PRIVATE = [
    # IBANs: spaced, unspaced, lower case; the words after them stay
    ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [iban] please"),
    ("pay GB82WEST12345698765432.", "pay [iban]."),
    ("iban de89 3704 0044 0532 0130 00 and thanks", "iban [iban] and thanks"),
    ("refund to BE68 5390 0754 7034 then", "refund to [iban] then"),
    # card numbers passing Luhn: grouped by spaces or dashes, unbroken, Amex 4-6-5, CVV after
    ("card 4111 1111 1111 1111 exp 12/27", "card [card] exp 12/27"),
    ("card 4111-1111-1111-1111", "card [card]"),
    ("number 4111111111111111, thanks", "number [card], thanks"),
    ("amex 3782 822463 10005", "amex [card]"),
    ("card 4111 1111 1111 1111 123", "card [card] 123"),
    ("+49 170 1234567 4111 1111 1111 1111", "[phone] [card]"),
    # obfuscated e-mail addresses
    ("name(at)domain.com", "[email]"),
    ("write to name [at] domain [dot] com today", "write to [email] today"),
    ("mail a @ b.com now", "mail [email] now"),
    ("root a@localhost", "root [email]"),
    ("fullwidth jane＠example.com", "fullwidth [email]"),
    # invisible characters cannot split what they hide
    ("call +49\u200b170\u200b1234567", "call [phone]"),
    ("jane\u200b.doe@exam\u00adple.com", "[email]"),
    ("mobile +34\u00a0612\u00a0345\u00a0678", "mobile [phone]"),
    ("call 555\u2011123\u20114567", "call [phone]"),
    # passport-like ids: the id goes, the words that say what it was stay
    ("passport C01X00T47", "passport [id]"),
    ("Passport no. 123456789", "Passport no. [id]"),
    ("my passport number is C01X00T47, thanks", "my passport number is [id], thanks"),
    ("Reisepass Nr. C01X00T47", "Reisepass Nr. [id]"),
    ("pass no 12345678", "pass no [id]"),
    ("ID card: X1234567", "ID card: [id]"),
]

INVISIBLE = [
    ("\x1b[31mlate\x1b[0m again", "late again"),  # ANSI colour (CSI SGR)
    ("\x1b[2J\x1b[1;1Hcleared", "cleared"),  # CSI cursor and erase
    ("a\x9b31mb", "ab"),  # 8-bit CSI
    ("\x1b]8;;http://evil.example\x07link\x1b]8;;\x07", "link"),  # OSC 8 hyperlink
    ("bell\x07 and esc\x1b end\x00", "bell and esc end"),  # raw BEL, ESC, NUL
    ("a\x85b\x80c\x9fd", "a bcd"),  # C1 controls; NEL separates words
    ("share \u202e0.357\u202c", "share 0.357"),  # right-to-left override
    ("a\u2066b\u2069c\u200ed\u200f\u061ce\u202a\u202b\u202df", "abcdef"),  # isolates, marks, embeddings
    ("zero\u200bwidth\u200c\u200d\u2060\ufeff", "zerowidth"),  # zero-width characters, BOM
    ("x\r\ny\rz\x0bw\x0cv", "x\ny z w v"),  # CR LF, lone CR, vertical tab, form feed
    ("tab\tand\nline", "tab\tand\nline"),  # kept
    ("tag\U000e0041\U000e0042s", "tags"),  # tag characters (invisible ASCII)
]

KEPT = [
    "Answered 2025-06-30 12:00:00, again 12.06.2025 14:30 and 2025-06-30T12:00:00.123Z",
    "trend -0.004297/month (95% CI -0.01072 to +0.002124, 18 months)",
    "revenue 1,234.56 EUR, 12.5% more, 1,234,567,890 in total, +12.34567",
    "csat 73.2% (n=1,234; 95% CI 70.1% to 76.0%), nps +23.2, p < 0.001",
    "NPS now: 32.8 over 2018-06 to 2018-08 (95% CI 23.1 to 42.5, n=180).",
    "sales 2019-2024 and 2019\u20132024 rose",  # ranges of years, not phone numbers
    "order 1234567812345678 arrived late",  # 16 digits failing Luhn: an order id, not a card
    "tracking JD014600003578451234 lost",  # IBAN-shaped, fails mod-97
    "p-value 0.4111111111111111",  # 16 decimals passing Luhn: a number, not a card
    "passport office closed in 2024",
    "my passport expired, renewal took 12 weeks",
    "the passenger C01X00T47 and the compass",
    "boarding pass no 1234",  # too short for an id
    "FY24 results were bad, KW23 better",
    "meet @ 10.30 at the store",
]


@pytest.mark.parametrize("text, expected", PRIVATE)
def test_private_data_is_replaced(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text, expected", INVISIBLE)
def test_invisible_characters_are_removed(text, expected):
    assert visible(text) == expected
    assert redact(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_numbers_dates_and_words_stay(text):
    assert redact(text) == text


def test_the_checksums_decide():
    assert not _luhn("1234567812345678") and _luhn("4111111111111111")
    # a 16-digit order id that happens to pass Luhn is redacted: one in ten, the price of cards
    assert redact("order 4111111111111111") == "order [card]"
    assert redact("card 4111 1111 1111 1112") == "card 4111 1111 1111 1112"  # mistyped: kept


def test_missing_values_and_series_pass_through():
    assert visible(None) is None and redact(None) is None
    out = visible(pd.Series(["a\x1b[1mb", None]))
    assert out.iloc[0] == "ab" and pd.isna(out.iloc[1])


def test_placeholders_never_become_themes():
    phrases = phrases_of("refund to DE89 3704 0044 0532 0130 00 or 4111 1111 1111 1111, passport C01X00T47")
    assert not phrases & {"iban", "card", "id"} and "refund" in phrases


RAW = ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "4111 1111 1111 1111", "4111-1111-1111-1111",
       "name(at)domain.com", "domain [dot] com", "b.com", "localhost", "1234567", "C01X00T47", "123456789"]
HOSTILE = ["IBAN DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "card 4111 1111 1111 1111",
           "card 4111-1111-1111-1111", "name(at)domain.com", "name [at] domain [dot] com", "a @ b.com",
           "a@localhost", "+49\u200b170\u200b1234567", "passport C01X00T47", "Passport no. 123456789",
           "\x1b[31mred\x1b[0m", "bell\x07", "share \u202e0.357", "zero\u200bwidth\ufeff"]


def _hidden(page: str) -> list[str]:
    """Characters a reader cannot see: controls other than newline and tab, and format characters."""
    return [ch for ch in page if (unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\t")]


def test_published_tables_and_findings_show_no_private_data_or_invisible_characters():
    frame = pd.DataFrame({"segment": HOSTILE, "comment": HOSTILE[::-1], "value": range(len(HOSTILE))})
    pivot = frame.set_index("value")["segment"].to_frame().T  # headers from the data
    pivot.columns = HOSTILE
    pages = {
        "table": formatting.table(frame, caption="by segment \u202e").to_html(),
        "pivot": formatting.table(pivot).to_html(),
        "safe_frame": publish.safe_frame(frame).to_html(),
        "findings": publish.findings(HOSTILE).data,
        "paragraphs": publish.paragraphs(HOSTILE).data,
        "safe_text": " ".join(publish.safe_text(line) for line in HOSTILE),
        "labels": " ".join(formatting.label(line) for line in HOSTILE),
    }
    for name, page in pages.items():
        unescaped = page.replace("\\", "")  # Markdown escapes: "name\\(at\\)..." is still the address
        leaked = [raw for raw in RAW if raw in unescaped]
        assert leaked == [] and _hidden(page) == [] and "[31m" not in page, (name, leaked, _hidden(page))
        assert "0.357" in page and "red" in page
