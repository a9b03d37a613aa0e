# %% [markdown]
# # 3. Gap identification
#
# Current against desired, for every goal: how far off we are, whether that gap is real at the
# sample size we have, and what to fix first. A gap is **positive when we fall short**, whatever
# the KPI's direction. The test asks "could the KPI actually meet its target and we just see
# noise?"; p-values are adjusted for testing many goals at once (Benjamini-Hochberg), and a gap
# smaller than the noise is reported as *not significant*, never as a shortfall.

# %% tags=["parameters"]
data: str = "../data/sample"  # folder of input tables (CSV or Parquet)
as_of: str = "2025-06-30"  # report date: events after the end of this day are ignored
config: str = "../gapkit.yml"  # run configuration (segments, windows, goals...); "" for defaults
out: str = "../reports/interactive"  # folder this run writes its artifacts to (gapkit run passes its own)

# %%
import matplotlib.pyplot as plt
from IPython.display import display

import gapkit
from gapkit import adapt, formatting, publish, story

settings = gapkit.notebook.setup(config, data=data, as_of=as_of, out=out)
kpi_table = gapkit.pipeline.carried(out, "kpis")  # as report 1 measured it, segments and skipped KPIs included
current = gapkit.pipeline.carried(out, "current")
drivers = publish.read_csv(out, "drivers.csv")
dataset = gapkit.notebook.dataset(settings)
segments = kpi_table.attrs["by"]
result = gapkit.gaps.gaps(settings.goals, kpi_table, data=dataset, as_of=settings.as_of, drivers=drivers,
                          params=settings.params, current=current, engine=settings.engine)
publish.write_csv(result.table, out, "gaps.csv")
targets = {goal.kpi: goal.target for goal in settings.goals if goal.segment_by == "all"}
ipa = adapt.attempt(
    "The importance-performance chart", "the KPIs that matter most for customers coming back and how well each "
    "performs", "export followups.csv or tickets.csv (see the key drivers in report 2)",
    gapkit.ipa.importance_performance, kpi_table, drivers, targets=targets)
trip = adapt.attempt("The journey map", "the post-sale stages each order passes through, how many reach each "
                     "and how long it takes", "export followups.csv, tickets.csv or surveys.csv with order_id",
                     gapkit.journey.journey, dataset, settings.as_of,
                     by=adapt.journey_by(dataset, settings.journey_by, segments), params=settings.params,
                     seed=settings.seed)
comments = adapt.requires(dataset, {"surveys": ["comment"]}, "What customers say",
                          "the mood of survey comments and their recurring themes",
                          "export surveys.csv with a comment column") or gapkit.text.sentiment(
                              dataset["surveys"], language=settings.language)
sentiment = adapt.requires(
    dataset, {"surveys": ["comment", "answered_at"]}, "Comment sentiment by segment",
    "the mood of comments as a KPI per segment", "export surveys.csv with comment and answered_at",
) or adapt.attempt(
    "Comment sentiment by segment", "the mood of comments as a KPI per segment",
    "export surveys.csv with comment and answered_at", gapkit.text.sentiment_kpi, dataset, settings.as_of,
    by=adapt.columns_for(dataset, "surveys", segments), period="M")
plan = gapkit.actions.action_plan(
    result.table, kpi_table, drivers=drivers, journey=None if isinstance(trip, adapt.Skipped) else trip,
    comments=None if isinstance(comments, adapt.Skipped) else comments, valuation=list(settings.valuation),
    rule=result.rule, currency=settings.currency, as_of=settings.as_of, data=dataset, params=settings.params)
publish.write_csv(plan.table, out, "action_plan.csv");

# %%
publish.findings(story.gap_findings(result.table))

# %% [markdown]
# ## Action plan
#
# The significant shortfalls, most urgent first (the same ranking as the findings and the gap
# table), each with evidence from its own customers: what their negative comments say that
# others' do not, the journey stage where they lag the other customers, and what the driver
# model says of the KPI. The first step follows from that evidence; where the data holds none,
# the row says so and how to get some. Where the configuration says what the KPI is worth, the
# value of closing the gap per month.

# %%
plan if settings.goals else adapt.Skipped(
    "The action plan", "the configuration sets no goals", "the shortfalls to fix first, with their evidence and a "
    "first step", "add goals (id, kpi, target, deadline) to gapkit.yml; report 2 proposes targets")

# %% [markdown]
# ## The gap table

# %%
result if settings.goals else adapt.Skipped(
    "The gap table", "the configuration sets no goals", "how far each goal's KPI is from its target and whether "
    "that gap is real", "add goals (id, kpi, target, deadline) to gapkit.yml; report 2 proposes targets")

# %% tags=["nbval-check-output"]
if len(result.table):
    print(result.table[["goal_id", "status", "gap", "p_adj", "priority", "rank"]].round(4)
          .to_string(index=False, na_rep="-"))

# %% [markdown]
# ## The gaps at a glance
#
# Bars to the right of zero are shortfalls, on one scale for every kind of KPI: the gap in units
# of how much the KPI's customers vary (0.2 is a small gap, 0.5 a medium one, 0.8 a large one),
# the scale the ranking uses. The whiskers are 95% intervals. Red: a significant shortfall;
# amber: short, but within the noise; green: met.

# %%
if len(result.table):
    result.plot()
    plt.show()

# %% [markdown]
# ## What to fix first: importance against performance
#
# Importance comes from the key-driver model (what goes with customers coming back); performance
# is how close each KPI is to its best (0..1, direction-aware). The classic quadrants split at the
# means: **concentrate here** (important, performing poorly), keep up the good work, low priority,
# possible overkill. When the driver model cannot tell the drivers apart (their importance
# intervals overlap, or together they explain almost nothing), no quadrant is named, and the gap
# table ranks shortfalls by their size alone.

# %%
ipa.plot()
plt.show()

# %%
ipa

# %% [markdown]
# ## The post-sale journey, from the event data
#
# Stages in time order with the share of orders that reach each (95% CI), the median days from the
# order, the main channel, and the mood of the comments tied to the stage (VADER sentiment, red =
# negative). Stages marked as *opportunity* hold a significant gap for that group.
#
# The unit here is an order, every order old enough for its whole journey, a returning customer's
# later orders included; so the *repeat purchase* stage (an order followed by another within the
# window) reads higher than the KPI `repeat_purchase_rate`, which follows each customer's first
# order only.

# %%
for _ in trip.plot_each(gaps=result.table):  # one figure per group
    plt.show()

# %%
trip if isinstance(trip, adapt.Skipped) else formatting.table(
    trip.rows("all")[["stage", "n", "coverage", "median_days", "sentiment", "top_channel"]],
    {"coverage": "share", "median_days": "number", "sentiment": "number"},
    caption="Each post-sale stage: how many orders reach it, how soon, and how customers feel there"
    + (f"; {trip.sampled()}" if trip.sampled() else ""))

# %% [markdown]
# ## What customers say
#
# Comments scored with VADER (English only: comments in other languages are counted as not scored,
# not mis-scored). Recurring phrases of the negative comments, and comment sentiment by segment as
# a KPI. Comment text is shown with e-mail addresses and phone numbers redacted.

# %%
if isinstance(comments, adapt.Skipped):
    display(comments)
else:
    display(publish.paragraphs(gapkit.text.scored_summary(comments)))
    display(formatting.table(gapkit.text.themes(comments).head(10),
                             caption="Words and pairs most frequent in negative comments"))
    negative = comments[comments["label"] == "negative"].sort_values("compound").head(5)
    display(formatting.table(publish.safe_frame(negative[["response_id", "compound", "comment"]]),
                             caption="The five most negative comments (redacted)"))

# %% tags=["nbval-check-output"]
if not isinstance(sentiment, adapt.Skipped):
    print(sentiment[(sentiment.period == "all")][["segment_by", "segment", "n", "value", "ci_low", "ci_high"]]
          .round(3).to_string(index=False))

# %%
if not isinstance(sentiment, adapt.Skipped):
    display(formatting.table(
        sentiment[(sentiment.period == "all")][["segment_by", "segment", "n", "value", "ci_low", "ci_high"]]
        .rename(columns={"value": "mean sentiment (-1..1)"}),
        {"n": "count", "mean sentiment (-1..1)": "number", "ci_low": "number", "ci_high": "number"},
        caption="Mean comment sentiment by segment, with 95% intervals"))
elif not isinstance(comments, adapt.Skipped):  # else the section above already said what is missing
    display(sentiment)

# %%
quality = gapkit.ipa.servqual(dataset["surveys"]) if "surveys" in dataset else None
if quality is not None:  # survey items scored as expectation and perception pairs
    display(quality)

# %% [markdown]
# ## Glossary
#
# - **Gap**: how far the current level is from the target, positive when short, whatever the KPI's
#   direction. **Significant shortfall**: short, and more than the noise at this n explains (a
#   one-sided test, adjusted for testing several goals at once by Benjamini-Hochberg).
# - **Standardized gap** (the ranking's scale): the gap in units of how much the KPI's customers
#   vary (Cohen's h for shares, the gap over the customers' standard deviation for scores and NPS,
#   over their interquartile spread for durations); 0.2 is small, 0.5 medium, 0.8 large.
# - **Priority**: the standardized gap times the KPI's weight (its demonstrated effect on customers
#   coming back, relative to the average driver).
# - **Distinguishing phrases**: words a segment's negative comments use more often than others'
#   (Fisher's exact test, adjusted for the number of phrases tried).
# - **Sentiment (VADER)**: a score from -1 (negative) to +1 (positive) given to English comments by
#   the VADER lexicon.
# - **Importance-performance chart**: each KPI placed by how much it matters (driver effect) and how
#   well it performs, split at the means.
