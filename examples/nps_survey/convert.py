"""Convert The Carpentries' instructor-training post-survey (NPS) into gapkit contract tables.

Source
    The Carpentries, "assessment" repository, https://github.com/carpentries/assessment,
    file ``programmatic-assessment/instructor-training/data/20180908_post_clean.csv``
    (checked at commit 84a42afe5a030edd776c3318585c281a5871233e, 2025-01-30; the file itself was
    last changed in 2018-09; SHA-256
    8fb771bd582513a198f43bcef3bd2f277b61d18e5e162b91d4ea52aeded65111). A real SurveyMonkey
    export: the post-training survey of The Carpentries' two-day Instructor Training, 967
    responses completed 2016-06-09 to 2018-09-08, 41 columns. Analysed by the publisher in
    ``programmatic-assessment/instructor-training/code/2018_Sept_instructor-training-report.Rmd``;
    the cleaning the publisher applied (OpenRefine) is in ``.../code/post_survey_JSON.md``: it
    renamed the columns, removed the respondents' names, e-mail and IP addresses, the start time,
    and the three free-text comment questions, and renamed SurveyMonkey's "End Date" to ``Date``.
    The NPS item is "How likely is it that you would recommend this instructor training to a
    friend or colleague?" (0-10; column ``LikelyToRecommend``).
Licence
    Creative Commons Attribution 4.0 International (CC BY 4.0), per the repository's LICENSE.md
    ("All of The Carpentries surveys, data, and source code are made available under the Creative
    Commons Attribution license"). Attribution: derived from work Copyright (c) The Carpentries,
    https://carpentries.org/; changes: reshaped into gapkit's tables as described below.

Input (``--source``): ``20180908_post_clean.csv``. To get it without a clone of the repository:
    curl -LO https://raw.githubusercontent.com/carpentries/assessment/main/programmatic-assessment/instructor-training/data/20180908_post_clean.csv
(the default branch may be ``master`` on older mirrors).

Output (``--out``): ``orders.csv``, ``customers.csv``, ``surveys.csv``.

Mapping (one survey response = one row of the source file; ``row`` below is the 1-based data
row of the file, in file order, which is what every id is built from)
    surveys, one row per response (all 967 are kept, including the 78 that skipped the NPS item):
        response_id  <- "itpost-<row>"
        customer_id  <- "trainee-<row>": ONE CUSTOMER PER RESPONSE. The survey has no respondent
                        id: its ``UniqueID`` is a code the trainee makes up (siblings + birth town
                        + street letters), blank in 735 of 967 rows and not guaranteed unique,
                        so it is neither used nor written (it is also quasi-identifying).
        answered_at  <- ``Date`` (SurveyMonkey "End Date", the completion time, ``M/D/YY H:MM``).
                        The export's time zone is not stated (the survey account's zone, probably
                        a US one); it is written without a zone, so gapkit reads it as UTC.
        sent_at      <- = answered_at. The survey has no send time (the link is handed out at the
                        end of the training) and only completed responses are published, so
                        survey_response_rate is 1 by construction: ignore it.
        nps          <- ``LikelyToRecommend`` as a whole number (observed 1-10; nobody chose 0);
                        empty where the item was skipped (78 rows).
        csat         <- ``Worth`` ("The training was worth my time.", 5-point agreement):
                        Strongly Disagree 1, Disagree 2, Neither Agree nor Disagree 3, Agree 4,
                        Strongly Agree 5; empty where skipped. An agreement item used as a 1-5
                        satisfaction score: csat (share 4-5) = share agreeing the training was
                        worth their time.
        order_id     <- the derived order of the response (see orders).
        comment      <- NONE. The public file has no free-text comments: the publisher removed
                        them (``CommentsAboutTrain``, ``ImprovingComments``, ``BestPartComments``).
                        ``CompleteTrainingOther`` (12 short "other, please specify" answers about
                        the check-out steps) is not a comment on the experience and is dropped.
        No ces column (the survey has no effort item).
    customers, one row per response (= per customer, see above), at most 4 segment columns:
        customer_id      <- as in surveys
        when_taking      <- ``WhenTaking``: "at_event" ("I have just completed the training, and
                            am taking it at the event", 730) or "after_event" ("I have recently
                            completed the training, and am taking it after I left the event", 237)
        event_format     <- derived from the training-event label, ``MemberSite`` or, where that
                            is blank or "My training event is not listed", ``MemberSiteOther``:
                            "online" when the label says online / on-line; "timezone_only" when
                            its only qualifier is a time zone or region in brackets (US/Eastern,
                            US/Central, US/Mountain, US/Pacific, Europe, UK: the 2018 labels, whose
                            format the data does not state); "site" when it names a host or place
                            (a university, a city, SciPy, USDA, ...); empty when no event is named
                            (blank, "not listed" with no other entry, or a label of dates and
                            generic words only, such as "Instructor training Oct 27-28").
        pace             <- ``Pace`` ("How did you perceive the pace of the training?"), lower-cased
                            with "_" for spaces: too_slow, slightly_slow, just_right, slightly_fast,
                            too_fast; empty where skipped
        lecture_balance  <- ``HandsOn`` ("How was the balance of lecture to hands-on work?"):
                            too_much_lecture, slightly_too_much_lecture, balanced,
                            slightly_too_much_hands_on, too_much_hands_on; empty where skipped
        pace and lecture_balance are the trainee's own ratings of the training, not attributes
        held before it: read NPS differences between their groups as associations.
        The 81 event labels themselves are not written as a segment (more than 30 values).
    orders (required by the contract; a survey has no purchases): DERIVED, NOT REAL PURCHASES.
        One row per response: order_id "training-<row>" (the training the trainee attended),
        customer_id as above, ordered_at = answered_at (the survey is taken at, or just after,
        the end of the two-day training), status "derived_from_survey". Order KPIs on them
        (repeat_purchase_rate = 0 by construction, no deliveries) are artifacts: ignore them.

Dropped columns: every other item (Likert ratings of the trainers and content, self-rated
abilities, knowledge and motivation, ``Recommend`` (an agreement item on recommending, 300 blank,
kept out in favour of the 0-10 item), ``Workshop ID`` (34 filled)). Dropped rows: none.
No dates are invented: every timestamp is the response's own.

Run
    python examples/nps_survey/convert.py --source path/to/20180908_post_clean.csv --out /tmp/realnps/data
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

WHEN = {
    "I have just completed the training, and am taking it at the event": "at_event",
    "I have recently completed the training, and am taking it after I left the event": "after_event",
}
AGREE = {
    "Strongly Disagree": 1,
    "Disagree": 2,
    "Neither Agree nor Disagree": 3,
    "Agree": 4,
    "Strongly Agree": 5,
}
HANDS_ON = {
    "Too much lecture": "too_much_lecture",
    "Slightly too much lecture": "slightly_too_much_lecture",
    "Balanced (lecture/hands-on)": "balanced",
    "Slightly too much hands-on": "slightly_too_much_hands_on",
    "Too much hands-on": "too_much_hands_on",
}
NOT_LISTED = "My training event is not listed"
ONLINE = re.compile(r"on-?line", re.IGNORECASE)
TIMEZONE_ONLY = re.compile(r"\((US/(Eastern|Central|Mountain|Pacific)|Europe|UK)\)\s*$")
# what is left of a label once dates and generic words are removed; nothing left means no host
# or place is named
DATE_WORDS = re.compile(
    r"\b(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sept?(ember)?|"
    r"oct(ober)?|nov(ember)?|dec(ember)?|\d+(st|nd|rd|th)?|"
    r"instructor|training|trainer|workshop|software|carpentry|the|and)\b|[^a-z]",
    re.IGNORECASE,
)
NEEDED = ["Date", "WhenTaking", "MemberSite", "MemberSiteOther", "Pace", "HandsOn", "Worth", "LikelyToRecommend"]


def read_source(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in NEEDED if c not in raw.columns]
    if missing:
        raise SystemExit(f"{path}: missing columns {missing}; expected The Carpentries' 20180908_post_clean.csv")
    # labels hold non-breaking spaces ("My training event\xa0is not listed"): make them plain spaces
    clean = raw.apply(lambda s: s.str.replace("\xa0", " ", regex=False).str.strip())
    return clean.replace("", pd.NA)


def event_format(site: object, other: object) -> object:
    label = site if isinstance(site, str) and site != NOT_LISTED else other
    if not isinstance(label, str):
        return pd.NA
    if ONLINE.search(label):
        return "online"
    if TIMEZONE_ONLY.search(label):
        return "timezone_only"
    if not DATE_WORDS.sub("", label):
        return pd.NA
    return "site"


def convert(raw: pd.DataFrame) -> dict[str, pd.DataFrame]:
    row = pd.Series(range(1, len(raw) + 1), index=raw.index).astype(str)
    answered = pd.to_datetime(raw["Date"], format="%m/%d/%y %H:%M")
    nps = pd.to_numeric(raw["LikelyToRecommend"]).astype("Int64")
    customer = "trainee-" + row
    order = "training-" + row

    surveys = pd.DataFrame(
        {
            "response_id": "itpost-" + row,
            "customer_id": customer,
            "sent_at": answered,
            "answered_at": answered,
            "nps": nps,
            "csat": raw["Worth"].map(AGREE).astype("Int64"),
            "order_id": order,
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": customer,
            "when_taking": raw["WhenTaking"].map(WHEN),
            "event_format": [event_format(s, o) for s, o in zip(raw["MemberSite"], raw["MemberSiteOther"])],
            "pace": raw["Pace"].str.lower().str.replace(" ", "_"),
            "lecture_balance": raw["HandsOn"].map(HANDS_ON),
        }
    )
    orders = pd.DataFrame(
        {"order_id": order, "customer_id": customer, "ordered_at": answered, "status": "derived_from_survey"}
    )
    for name, mapped, source in [
        ("when_taking", customers["when_taking"], raw["WhenTaking"]),
        ("lecture_balance", customers["lecture_balance"], raw["HandsOn"]),
        ("csat", surveys["csat"], raw["Worth"]),
    ]:
        unmapped = source.notna() & mapped.isna()
        if unmapped.any():
            raise SystemExit(f"{name}: unexpected values {sorted(source[unmapped].unique())}")

    print(
        f"surveys: {len(surveys):,} responses, {int(nps.notna().sum()):,} with nps, "
        f"{int(surveys['csat'].notna().sum()):,} with csat; answered {answered.min()} to {answered.max()}"
    )
    for column in ["when_taking", "event_format", "pace", "lecture_balance"]:
        counts = customers[column].value_counts(dropna=False)
        shown = ", ".join(f"{k if isinstance(k, str) else '(empty)'} {v}" for k, v in counts.items())
        print(f"customers.{column}: {shown}")
    print(
        f"orders: {len(orders):,} DERIVED rows (one per response, at its answer time), only because the contract "
        "requires an orders table; order KPIs on them are meaningless"
    )
    print(f"latest answer: {answered.max().date()} (use it as as_of)")
    return {"orders": orders, "customers": customers, "surveys": surveys}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source", required=True, type=Path, help="20180908_post_clean.csv from carpentries/assessment"
    )
    parser.add_argument(
        "--out", required=True, type=Path, help="folder to write orders.csv, customers.csv, surveys.csv into"
    )
    args = parser.parse_args(argv)
    tables = convert(read_source(args.source))
    args.out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(args.out / f"{name}.csv", index=False, date_format="%Y-%m-%dT%H:%M:%S")
        print(f"wrote {args.out / (name + '.csv')} ({len(frame):,} rows)")


if __name__ == "__main__":
    main()
