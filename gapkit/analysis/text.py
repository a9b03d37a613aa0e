"""Feedback text: sentiment of survey comments and their themes (redaction: gapkit.analysis.redaction).

Sentiment is VADER's compound score (vaderSentiment, offline lexicon). VADER is English-only,
so each comment's language is guessed first with a small stop-word heuristic (en, es, fr, de,
pt, it); comments that are not English are reported as not scored instead of being scored
as if they were English (a Spanish complaint would otherwise come out "neutral").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from gapkit.analysis.redaction import redact, visible
from gapkit.contract.catalog import MEAN, MIN_N, SMALL_N
from gapkit.errors import ConfigError, InputError
from gapkit.measure.engine import KPI_COLUMNS, MISSING_SEGMENT, end_of_day, month_labels, segment_labels

# redact and visible live in gapkit.analysis.redaction; gapkit.text.redact is their public name
__all__ = ["detect_language", "phrases_of", "redact", "sentiment", "sentiment_kpi", "themes", "visible"]

# VADER authors' conventional cut-offs for calling a compound score positive or negative
POSITIVE, NEGATIVE = 0.05, -0.05
NOT_ENGLISH = "not English"
UNDETERMINED = "language not detected"
SENTIMENT_KPI = "comment_sentiment"
SENTIMENT_UNIT = "VADER compound -1..1"

# Short, fairly distinctive function words per language. Words shared by several languages
# (de, la, un, no...) count for each; only the English-or-not decision has to be right.
STOP_WORDS = {
    "en": set("the and is was were are it this that to of in for with my i you but not have had has "
              "been on at after very what we they would will could got from as an so did didn't does "
              "do just about nothing nobody never its it's i'm our your there than then by or if how "
              "why when again still only be too all".split()),
    "es": set("el la los las un una unos y que de del en por para con es fue muy pero mi mis se lo "
              "al no me sin más está como nadie nada después tan también porque cuando ya su sus le "
              "les este esta esto hay ha han he".split()),
    "pt": set("o os as um uma e que de do da dos das em no na por para com é foi muito mas meu minha "
              "não sem mais está como ninguém nada depois também quando já seu sua".split()),
    "fr": set("le la les un une et que de du des en pour avec est était très mais mon ma mes je ne "
              "pas sans plus comme personne rien après aussi quand déjà son sa il elle nous vous".split()),
    "it": set("il lo la gli le un una e che di del della in per con è era molto ma mio mia non senza "
              "più come nessuno niente dopo anche quando già suo sua".split()),
    "de": set("der die das ein eine und dass von im in für mit ist war sehr aber mein meine nicht "
              "ohne mehr wie niemand nichts nach auch wann schon sein ich wir sie es zu".split()),
}
# Tie-break among non-English guesses: the sample's second language first
LANGUAGE_PRIORITY = ("es", "pt", "fr", "it", "de")

# Theme extraction drops these; negations (no, not, never, nobody, nothing) are kept on
# purpose: "never answered" is the complaint.
THEME_STOP_WORDS = set(
    "a an the and or but if so as of to in on at by for with from about after before into over "
    "than then too very just also still again really i me my mine we us our you your he she it "
    "its it's they them their this that these those is am are was were be been being have has had "
    "do does did would could should will can may might got get getting there here what which who "
    "when why how all any some much many more most one two three was i'm i've i'd it's that's "
    "up out off only even ever way thing things".split()
)

NEGATIONS = {"no", "not", "never", "nobody", "nothing", "none", "without", "didn't", "don't", "wasn't"}

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@lru_cache(maxsize=1)
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def detect_language(text: str) -> str:
    """Guess a comment's language: "en", "es", "pt", "fr", "it", "de", or "und" (undetermined).

    The language whose stop words occur most wins; a comment with no stop word at all counts
    as English only when it is plain ASCII and holds a word VADER knows ("Great service").

    Examples
    --------
    >>> [gapkit.text.detect_language(t) for t in ("The parcel arrived late.", "El paquete llegó tarde.")]
    ['en', 'es']
    """
    if not isinstance(text, str) or not text.strip():
        return "und"
    return _language(text)


# The same comment is read by several analyses of one report (the comment table, the sentiment
# KPI, the journey's emotional states, the action plan's evidence): each pure per-text function
# is cached, so a report scores each distinct comment once. Bounded, about 100 MB at the limit.
TEXT_CACHE = 1 << 20


@lru_cache(maxsize=TEXT_CACHE)
def _language(text: str) -> str:
    words = _tokens(text)
    hits = {lang: sum(w in stops for w in words) for lang, stops in STOP_WORDS.items()}
    other = max(LANGUAGE_PRIORITY, key=lambda lang: (hits[lang], -LANGUAGE_PRIORITY.index(lang)))
    if hits["en"] > hits[other]:
        return "en"
    if hits[other] > hits["en"]:
        return other
    ascii_only = text.isascii()
    if hits["en"] > 0:  # a tie between English and another language: accents decide
        return "en" if ascii_only else other
    known = any(w in _analyzer().lexicon for w in words)
    return "en" if ascii_only and known else "und"


def _label(compound: float) -> str | None:
    if pd.isna(compound):
        return None
    if compound >= POSITIVE:
        return "positive"
    return "negative" if compound <= NEGATIVE else "neutral"


def sentiment(
    surveys: pd.DataFrame,
    language: str | None = None,
    text_col: str = "comment",
    keep: Sequence[str] | None = None,
    lexicon: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """VADER compound sentiment of every non-empty comment, English comments only.

    Parameters
    ----------
    surveys : surveys table (response_id, customer_id, the text column; answered_at if present).
    language : language the comments are declared to be in (config ``language``). "en":
        every non-empty comment is scored, short ones ("Quick service") included; another
        language leaves every comment unscored with that reason (VADER supports English only);
        None (not configured): each comment's language is detected and English ones are scored.
    text_col : column holding the free text.
    keep : further survey columns to pass through (default: order_id and ticket_id if present).
    lexicon : optional domain words added to VADER's lexicon (word -> valence, -4..4), e.g.
        ``{"late": -1.5}``; None keeps VADER as published.

    Returns
    -------
    DataFrame, one row per non-empty comment: response_id, customer_id, answered_at, language
    (detected), scored, reason (why not scored), compound (-1..1), label (positive >= 0.05,
    negative <= -0.05, else neutral), the text column, then the ``keep`` columns.

    Examples
    --------
    >>> s = gapkit.text.sentiment(gapkit.datasets.sample()["surveys"])
    >>> s.groupby("language")["scored"].mean()
    language
    en    1.0
    es    0.0
    Name: scored, dtype: float64
    """
    needed = ["response_id", "customer_id", text_col]
    missing = [c for c in needed if c not in surveys.columns]
    if missing:
        raise InputError(f"surveys: missing column(s) {missing}; sentiment needs {needed} "
                         f"(pass text_col= if the comments are in another column)")
    if keep is None:
        keep = [c for c in ("order_id", "ticket_id") if c in surveys.columns]
    absent = [c for c in keep if c not in surveys.columns]
    if absent:
        raise ConfigError(f"keep names column(s) {absent} that surveys does not have; "
                          f"present: {list(surveys.columns)}")
    text = surveys[text_col]
    rows = surveys.loc[text.notna() & text.astype("str").str.strip().ne("")]
    answered = rows["answered_at"] if "answered_at" in rows else pd.Series(pd.NaT, index=rows.index)
    out = pd.DataFrame({
        "response_id": rows["response_id"], "customer_id": rows["customer_id"], "answered_at": answered,
    })
    out["language"] = rows[text_col].map(detect_language).astype("str")
    if language == "en":  # declared: detection is not asked to second-guess the user
        out["scored"] = True
        out["reason"] = None
    elif language is not None:
        out["scored"] = False
        out["reason"] = f"VADER supports English only; language={language!r} was requested"
    else:
        out["scored"] = out["language"].eq("en")
        out["reason"] = np.where(out["scored"], None,
                                 np.where(out["language"].eq("und"), UNDETERMINED, NOT_ENGLISH))
    analyzer = _analyzer()
    if lexicon:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        analyzer = SentimentIntensityAnalyzer()  # a fresh copy: the cached one stays as published
        analyzer.lexicon.update({k.lower(): float(v) for k, v in lexicon.items()})
    score = _compound if analyzer is _analyzer() else (lambda t: analyzer.polarity_scores(t)["compound"])
    compound = [score(t) if ok else np.nan for t, ok in zip(rows[text_col].astype("str"), out["scored"])]
    out["compound"] = np.asarray(compound, dtype=float)
    out["label"] = pd.Series([_label(c) for c in out["compound"]], index=out.index, dtype="str")
    out["reason"] = out["reason"].astype("str")
    out[text_col] = rows[text_col]
    for column in keep:
        out[column] = rows[column]
    return out.reset_index(drop=True)


def scored_summary(scored: pd.DataFrame) -> str:
    """How many comments were scored, and why the others were not, in one sentence."""
    total = len(scored)
    done = int(scored["scored"].astype(bool).sum())
    if total == 0:
        return "There are no comments to score."
    reasons = scored.loc[~scored["scored"].astype(bool), "reason"].value_counts()
    why = "; ".join(f"{count:,} {reason}" for reason, count in reasons.items())
    return f"{done:,} of {total:,} comments were scored" + (f"; not scored: {why}." if why else ".")


@lru_cache(maxsize=TEXT_CACHE)
def _compound(text: str) -> float:
    """VADER's compound score with the lexicon as published."""
    return _analyzer().polarity_scores(text)["compound"]


def phrases_of(text: str) -> set[str]:
    """The content words and adjacent word pairs of one comment (redacted first; stop words
    dropped, negations kept in pairs: "never answered")."""
    return set(phrases(str(text)))


@lru_cache(maxsize=TEXT_CACHE)
def phrases(text: str) -> frozenset[str]:
    """:func:`phrases_of`, cached, for analyses that read every comment."""
    words = _tokens(re.sub(r"\[(email|phone|iban|card|id)\]", " ", redact(str(text))))
    content = [w if w not in THEME_STOP_WORDS and len(w) > 1 else None for w in words]
    found = {w for w in content if w and w not in NEGATIONS}  # "not" alone says nothing
    found |= {f"{a} {b}" for a, b in zip(content, content[1:]) if a and b and a != b}
    return frozenset(found)


def themes(
    scored: pd.DataFrame,
    polarity: str = "negative",
    top: int = 15,
    min_count: int = 3,
    text_col: str = "comment",
) -> pd.DataFrame:
    """Frequent words and word pairs in the comments of one polarity.

    A phrase is a content word or two adjacent content words (stop words removed, negations
    kept; a word found only inside one of its pairs is shown as the pair); ``count`` is the
    number of comments holding it (each comment counts once), ``share``
    that count over all comments of the polarity, with a Wilson 95% CI. Private data (e-mail
    addresses, phone numbers, IBANs, card numbers, ids) is redacted first, so it never becomes
    a theme. Ties sort pairs before single words, then alphabetically, so the result is
    deterministic.

    Returns
    -------
    DataFrame: phrase, words (1 or 2), count, n (comments of the polarity), share,
    share_ci_low, share_ci_high.

    Examples
    --------
    >>> s = gapkit.text.sentiment(gapkit.datasets.sample()["surveys"])
    >>> gapkit.text.themes(s, "negative", top=10)
               phrase  words  count   n     share  share_ci_low  share_ci_high
    ...
    """
    if polarity not in ("negative", "neutral", "positive"):
        raise ConfigError(f"polarity must be 'negative', 'neutral' or 'positive', not {polarity!r}")
    missing = [c for c in ("scored", "label", text_col) if c not in scored.columns]
    if missing:
        raise InputError(f"themes needs the output of gapkit.text.sentiment(); missing column(s) {missing}")
    chosen = scored.loc[scored["scored"].astype(bool) & scored["label"].eq(polarity), text_col]
    counts: Counter = Counter()
    for text in chosen.astype("str"):
        counts.update(phrases(text))
    # a word that only ever appears inside one of its pairs adds nothing: keep the pair
    inside: Counter = Counter()
    for phrase, count in counts.items():
        if " " in phrase:
            for word in phrase.split(" "):
                inside[word] = max(inside[word], count)
    counts = Counter({p: c for p, c in counts.items() if " " in p or inside[p] < c})
    n = len(chosen)
    columns = ["phrase", "words", "count", "n", "share", "share_ci_low", "share_ci_high"]
    table = pd.DataFrame(
        [(p, p.count(" ") + 1, c) for p, c in counts.items() if c >= min_count],
        columns=["phrase", "words", "count"],
    )
    if table.empty:
        return pd.DataFrame(columns=columns)
    table = table.sort_values(["count", "words", "phrase"], ascending=[False, False, True]).head(top)
    table["n"] = n
    table["share"] = table["count"] / n
    table["share_ci_low"], table["share_ci_high"] = proportion_confint(table["count"], n, method="wilson")
    return table[columns].reset_index(drop=True)


def sentiment_kpi(
    data: Mapping,
    as_of: str | date | datetime,
    by: Sequence[str] = (),
    period: str | None = "M",
    lexicon: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Mean comment sentiment as a KPI, in the shape of ``gapkit.kpis`` output.

    Only scored (English) comments of surveys answered by the end of the ``as_of`` day count;
    the anchor is answered_at. Rows: "all" and, with ``period="M"``, each month; everyone and
    each value of each ``by`` column (the surveys' own column, else the customers' one).

    Returns
    -------
    DataFrame with gapkit's KPI columns: kpi="comment_sentiment", period, segment_by, segment,
    n, value (mean compound), ci_low, ci_high (t interval), unit, better="higher", label,
    ci_method="t", small_n (below the catalog's SMALL_N for means; no interval below MIN_N).

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> gapkit.text.sentiment_kpi(data, as_of="2025-06-30", by=["segment"], period=None)
                     kpi period segment_by  ... ci_method  small_n  open_share
    ...
    """
    if period not in (None, "M"):
        raise ConfigError(f"period must be 'M' (calendar months) or None, not {period!r}")
    by = [by] if isinstance(by, str) else list(by)
    if "surveys" not in data:
        raise InputError(f"sentiment_kpi needs a surveys table; present: {sorted(data)}")
    surveys = data["surveys"]
    if "answered_at" not in surveys.columns:
        raise InputError("surveys: no answered_at column; comment sentiment is anchored on it")
    answered = surveys.loc[surveys["answered_at"].notna() & (surveys["answered_at"] <= end_of_day(as_of))]
    own = [c for c in by if c in surveys.columns]
    units = sentiment(answered, keep=own, lexicon=lexicon)
    units = units.loc[units["scored"]]
    units = _join_segments(units, data, [c for c in by if c not in own])
    for column in by:  # the one segment-label rule of gapkit.kpis (1.0 -> "1", missing -> "(missing)")
        units[column] = segment_labels(units[column])
    units["period"] = month_labels(units["answered_at"])
    rows = []
    for period_col in [None] + (["period"] if period else []):
        for segment_by in [None] + by:
            keys = [k for k in (period_col, segment_by) if k]
            groups = units.groupby(keys, dropna=False, sort=True) if keys else [((), units)]
            for key, group in groups:
                key = key if isinstance(key, tuple) else (key,)
                values = dict(zip(keys, key))
                rows.append(_kpi_row(group["compound"], values.get("period", "all"), segment_by,
                                     values.get(segment_by, "all")))
    table = pd.DataFrame(rows, columns=KPI_COLUMNS)
    order = {"all": 0, **{column: i + 1 for i, column in enumerate(by)}}
    table["_by"] = table["segment_by"].map(order)
    table = table.sort_values(["_by", "segment", "period"], kind="stable").drop(columns="_by")
    table.attrs["as_of"] = str(pd.Timestamp(as_of).date())
    return table.reset_index(drop=True)


def _join_segments(units: pd.DataFrame, data: Mapping, columns: list[str]) -> pd.DataFrame:
    if not columns:
        return units
    customers = data["customers"] if "customers" in data else pd.DataFrame(columns=["customer_id"])
    unknown = [c for c in columns if c not in customers.columns]
    if unknown:
        raise ConfigError(f"segment column(s) {unknown} are in neither surveys nor customers; "
                          f"customers has {list(customers.columns)}")
    return units.merge(customers[["customer_id", *columns]], on="customer_id", how="left")


def _kpi_row(values: pd.Series, period: str, segment_by: str | None, segment) -> dict:
    n = int(values.size)
    small = n < SMALL_N[MEAN]
    mean = float(values.mean()) if n else np.nan
    low = high = np.nan
    if n >= MIN_N[MEAN]:
        low, high = DescrStatsW(values.to_numpy(float)).tconfint_mean(alpha=0.05)
        low, high = max(low, -1.0), min(high, 1.0)  # a mean compound score lives in -1..1
    if segment_by is not None and (segment is None or (not isinstance(segment, str) and pd.isna(segment))):
        segment = MISSING_SEGMENT
    return {
        "kpi": SENTIMENT_KPI, "period": period, "segment_by": segment_by or "all", "segment": str(segment),
        "n": n, "value": mean, "ci_low": low, "ci_high": high, "unit": SENTIMENT_UNIT, "better": "higher",
        "label": "Comment sentiment (VADER, English comments)", "ci_method": "t", "small_n": small,
    }
