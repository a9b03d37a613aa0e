"""gapkit.text: language guess, VADER sentiment, themes, the sentiment KPI and redaction."""

import numpy as np
import pandas as pd
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

import gapkit
from gapkit.analysis.text import detect_language, redact, sentiment, sentiment_kpi, themes
from gapkit.errors import ConfigError, InputError
from gapkit.measure.engine import KPI_COLUMNS
from gapkit.sample import generate

VADER = SentimentIntensityAnalyzer()
POSITIVE = "Great quality, very happy with my purchase!"
NEGATIVE = "Terrible shipping, the box was damaged and the product broke."
SPANISH = "El paquete llegó dañado y con retraso."


def ts(text):
    return pd.Timestamp(text, tz="UTC")


@pytest.mark.parametrize("text, language", [
    ("The parcel arrived late and nobody told me why.", "en"),
    ("Great service", "en"),  # no stop word, but plain ASCII and VADER knows "great"
    (SPANISH, "es"),
    ("Nadie contestó mis correos.", "es"),
    ("Le colis est arrivé en retard et personne ne m'a prévenu.", "fr"),
    ("Das Paket kam zu spät und niemand hat mir Bescheid gesagt.", "de"),
    ("A encomenda chegou atrasada e ninguém me avisou.", "pt"),
    ("Il pacco è arrivato in ritardo e nessuno mi ha avvisato.", "it"),
    ("Calidad aceptable.", "und"),
    ("", "und"),
])
def test_detect_language(text, language):
    assert detect_language(text) == language


def surveys(comments, **extra):
    n = len(comments)
    return pd.DataFrame({"response_id": [f"S{i}" for i in range(n)], "customer_id": [f"C{i}" for i in range(n)],
                         "answered_at": [ts("2025-03-01")] * n, "comment": comments, **extra})


def test_sentiment_scores_english_and_skips_other_languages():
    out = sentiment(surveys([POSITIVE, NEGATIVE, SPANISH, None, "  "]))
    assert list(out["response_id"]) == ["S0", "S1", "S2"]  # empty comments have nothing to score
    assert list(out.columns[:8]) == ["response_id", "customer_id", "answered_at", "language", "scored",
                                     "reason", "compound", "label"]
    assert out["compound"].iloc[0] == pytest.approx(VADER.polarity_scores(POSITIVE)["compound"])
    assert list(out["label"].iloc[:2]) == ["positive", "negative"]
    spanish = out.iloc[2]
    assert (spanish["language"], spanish["scored"], spanish["reason"]) == ("es", False, "not English")
    assert np.isnan(spanish["compound"]) and pd.isna(spanish["label"])


def test_sentiment_labels_follow_the_vader_thresholds():
    from gapkit.analysis.text import _label

    assert [_label(v) for v in (0.05, 0.0499, -0.0499, -0.05)] == ["positive", "neutral", "neutral", "negative"]


def test_a_declared_english_scores_every_comment_short_ones_too():
    short = ["Quick service", "Late installation", "No problems", "ok"]
    assert sentiment(surveys(short))["scored"].sum() < len(short)  # detection alone misses some
    out = sentiment(surveys(short), language="en")
    assert out["scored"].all() and out["compound"].notna().all()


def test_sentiment_refuses_to_score_a_declared_non_english_language():
    out = sentiment(surveys([POSITIVE, SPANISH]), language="es")
    assert not out["scored"].any()
    assert out["reason"].str.contains("English only").all()


def test_sentiment_passes_columns_through_and_checks_inputs():
    frame = surveys([POSITIVE], order_id=["O1"], csat=[5])
    assert list(sentiment(frame).columns[-2:]) == ["comment", "order_id"]
    assert sentiment(frame, keep=["csat"])["csat"].tolist() == [5]
    with pytest.raises(InputError, match="text_col"):
        sentiment(frame.drop(columns="comment"))
    with pytest.raises(ConfigError, match="nps"):
        sentiment(frame, keep=["nps"])


def test_domain_lexicon_changes_the_score_without_touching_the_default():
    text = "The delivery arrived late."
    plain = sentiment(surveys([text]))["compound"].iloc[0]
    tuned = sentiment(surveys([text]), lexicon={"late": -2.0})["compound"].iloc[0]
    assert plain == 0.0 and tuned < -0.05
    assert sentiment(surveys([text]))["compound"].iloc[0] == 0.0


def scored(comments, label="negative"):
    return pd.DataFrame({"scored": True, "label": label, "comment": comments})


def test_themes_counts_comments_not_words():
    frame = scored(["Late delivery again, late late.", "Late delivery and the box was damaged.",
                    "Support never answered.", "They never answered my email."])
    frame = pd.concat([frame, scored(["Late delivery, lovely!"], label="positive")], ignore_index=True)
    out = themes(frame, min_count=1).set_index("phrase")
    assert out.loc["late delivery", "count"] == 2 and out.loc["late delivery", "words"] == 2
    assert out.loc["late delivery", "share"] == pytest.approx(0.5)
    assert out["n"].eq(4).all()
    # "late" and "answered" only ever appear inside their pairs; "never" alone says nothing
    assert not {"late", "delivery", "answered", "never"} & set(out.index)
    assert not {"the", "and", "was", "my"} & set(out.index)
    assert list(out.index[:3]) == ["late delivery", "never answered", "support never"]  # count, pairs, a-z
    assert out.loc["box", "count"] == 1 and "support" not in out.index and "late late" not in out.index
    assert list(themes(frame, min_count=2)["phrase"]) == ["late delivery", "never answered"]


def test_themes_never_surface_contact_details():
    frame = scored(["Write to jane.doe@example.com now"] * 3 + ["Call +1 555-0142 today"] * 3)
    phrases = " ".join(themes(frame, min_count=1)["phrase"])
    assert "example" not in phrases and "jane" not in phrases and "0142" not in phrases
    with pytest.raises(ConfigError):
        themes(frame, polarity="angry")


def tiny_data():
    answered = [ts("2025-01-10"), ts("2025-01-20"), ts("2025-02-05"), ts("2025-02-06"), ts("2025-07-01"), pd.NaT]
    comments = [POSITIVE, NEGATIVE, "I love it, great job.", SPANISH, POSITIVE, POSITIVE]
    s = pd.DataFrame({"response_id": [f"S{i}" for i in range(6)], "customer_id": ["C1", "C2", "C1", "C2", "C3", "C3"],
                      "sent_at": ts("2025-01-01"), "answered_at": answered, "comment": comments})
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "segment": ["A", "B", None]})
    return {"surveys": s, "customers": customers}


def test_sentiment_kpi_by_hand():
    out = sentiment_kpi(tiny_data(), as_of="2025-06-30", by=["segment"])
    assert list(out.columns) == KPI_COLUMNS
    scores = [VADER.polarity_scores(t)["compound"] for t in (POSITIVE, NEGATIVE, "I love it, great job.")]
    overall = out.query("period == 'all' and segment_by == 'all'").iloc[0]
    assert overall["n"] == 3  # Spanish, unanswered and after-as_of comments do not count
    assert overall["value"] == pytest.approx(np.mean(scores))
    # three comments: a t interval would cover well below 95% (MIN_N for means is 5), so none
    assert np.isnan(overall["ci_low"]) and np.isnan(overall["ci_high"]) and overall["small_n"]
    assert (overall["kpi"], overall["better"], overall["ci_method"]) == ("comment_sentiment", "higher", "t")
    a = out.query("segment_by == 'segment' and segment == 'A' and period == 'all'").iloc[0]
    assert a["n"] == 2 and a["value"] == pytest.approx((scores[0] + scores[2]) / 2)
    january_b = out.query("segment == 'B' and period == '2025-01'").iloc[0]
    assert january_b["n"] == 1 and january_b["small_n"] and np.isnan(january_b["ci_low"])
    assert set(out["period"]) == {"all", "2025-01", "2025-02"}


def test_sentiment_kpi_counts_a_missing_segment_and_rejects_unknown_columns():
    data = tiny_data()
    out = sentiment_kpi(data, as_of="2025-07-02", by="segment", period=None)
    assert "(missing)" in set(out["segment"])
    with pytest.raises(ConfigError, match="region"):
        sentiment_kpi(data, as_of="2025-06-30", by=["region"])
    with pytest.raises(InputError):
        sentiment_kpi({"orders": pd.DataFrame()}, as_of="2025-06-30")


@pytest.mark.parametrize("text, expected", [
    ("Call me on +1 555-0142 please", "Call me on [phone] please"),
    ("Phone (555) 123-4567.", "Phone [phone]."),
    ("ring 555.123.4567 or +44 20 7946 0958", "ring [phone] or [phone]"),
    ("mobile +34 612 345 678", "mobile [phone]"),
    ("Mail jane.doe@example.com or a.b+c@mail.co.uk", "Mail [email] or [email]"),
    ("Ordered 2025-06-30, order O0000002, paid 12.50 for 3 items", None),
    ("Answered 2025-06-30 12:00, again at 12.06.2025 14:30:15 and 2025-06-30T12:00:00.123Z", None),
    ("French style 01.23.45.67.89", "French style [phone]"),
    ("Schreiben Sie an müller@bücher.de oder josé.garcía@correo.es", "Schreiben Sie an [email] oder [email]"),
    ("联系 用户@例子.广告", "联系 [email]"),
])
def test_redact(text, expected):
    assert redact(text) == (text if expected is None else expected)


def test_redact_passes_missing_values_and_series():
    assert redact(None) is None
    out = redact(pd.Series(["x jane@example.com", None]))
    assert out.iloc[0] == "x [email]" and pd.isna(out.iloc[1])


def test_sample_comments():
    data = gapkit.validate(generate(600, seed=3, bad_rows=False))
    out = sentiment(data["surveys"])
    assert not out.loc[out["language"] == "es", "scored"].any()
    assert out.loc[out["language"] == "en", "scored"].all()
    special = out.loc[out["comment"].str.contains("jane.doe", regex=False), "comment"].iloc[0]
    assert "[email]" in redact(special) and "[phone]" in redact(special)


def test_sentiment_leaves_its_input_alone():
    frame = surveys([POSITIVE, SPANISH, None])
    before = frame.copy()
    sentiment(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_months_in_report_sentences_are_not_taken_for_phone_numbers():
    sentence = "NPS now: 32.8 over 2018-06 to 2018-08 (95% CI 23.1 to 42.5, n=180)."
    assert redact(sentence) == sentence
    assert redact("call 2018-0812 345 678") == "call [phone]"
    trend = "trend -0.004297/month (95% CI -0.01072 to +0.002124, 18 months)"
    assert redact(trend) == trend  # decimals with many places are numbers, not phones
    assert redact("call +44 20 7946 0958 or 555-123-4567") == "call [phone] or [phone]"


def test_cached_scores_equal_vader_and_a_custom_lexicon_is_not_cached():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    surveys = gapkit.datasets.sample()["surveys"]
    first = gapkit.text.sentiment(surveys, language="en")
    again = gapkit.text.sentiment(surveys, language="en")  # served from the cache
    vader = SentimentIntensityAnalyzer()
    expected = [vader.polarity_scores(t)["compound"] for t in first["comment"].astype("str")]
    np.testing.assert_array_equal(first["compound"].to_numpy(), np.asarray(expected))
    pd.testing.assert_frame_equal(first, again)
    harsher = gapkit.text.sentiment(surveys, language="en", lexicon={"late": -4.0})
    late = first["comment"].str.contains(r"\blate\b", case=False, regex=True).to_numpy()
    assert late.any() and (harsher["compound"].to_numpy()[late] < first["compound"].to_numpy()[late]).all()
    found = gapkit.text.phrases_of("Support never answered.")
    assert found == {"support", "answered", "support never", "never answered"} and isinstance(found, set)
    found.add("mine")  # the caller's copy, not the cached one
    assert "mine" not in gapkit.text.phrases_of("Support never answered.")
