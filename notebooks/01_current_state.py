# %% [markdown]
# # 1. Current state of post-sale follow-up
#
# Where customer care after the sale stands today, measured from the company's own data: orders,
# follow-up messages, support tickets, surveys and referrals. Every number comes with its sample
# size **n** and a **95% confidence interval**; a wide interval means "we do not know this
# precisely yet", not "this is bad".
#
# How to read it: the findings first, then the alerts (months out of control); then how much of
# the input could be used (rows that break a rule are quarantined, never silently dropped); then
# the KPI scorecard, monthly trends, changes since earlier runs, the differences between segments
# and how many customers come back.

# %% tags=["parameters"]
data: str = "../data/sample"  # folder of input tables (CSV or Parquet)
as_of: str = "2025-06-30"  # report date: events after the end of this day are ignored
config: str = "../gapkit.yml"  # run configuration (segments, windows, goals...); "" for defaults
out: str = "../reports/interactive"  # folder this run writes its artifacts to (gapkit run passes its own)
history: str = ""  # the run history (history.parquet) to compare with; "" for the one beside `out`

# %%
import matplotlib.pyplot as plt
from IPython.display import display

import gapkit
from gapkit import adapt, formatting, plots, publish, story

settings = gapkit.notebook.setup(config, data=data, as_of=as_of, out=out)
dataset = gapkit.notebook.dataset(settings)
segments = adapt.segment_columns(dataset, settings.segments, settings.goals)  # configured or found, + goals' columns
kpi_table = gapkit.kpis(dataset, as_of=settings.as_of, by=segments, period="M", params=settings.params,
                        engine=settings.engine)
# goals compare today's level (the last complete months), not the whole history, with their targets
current = gapkit.baseline.current_levels(dataset, settings.as_of, kpi_table, by=segments,
                                         params=settings.params, months=settings.baseline_months,
                                         engine=settings.engine)
targets = {goal.kpi: goal.target for goal in settings.goals if goal.segment_by == "all"}
publish.write_csv(kpi_table, out, "kpis.csv")
publish.write_csv(current, out, "current.csv")
gapkit.pipeline.keep(kpi_table, out, "kpis")  # with its metadata (segments, skipped KPIs) for the later reports
gapkit.pipeline.keep(current, out, "current")
alarms = gapkit.monitor.alerts(kpi_table, settings.as_of, settings.monitor, params=settings.params)
comeback = adapt.attempt(
    "Retention", "how many customers order again, and how soon, by segment and first-order month",
    "export orders over a longer history", gapkit.monitor.retention, dataset, settings.as_of, by=segments[:1],
    churn_days=settings.monitor.get("churn_days", gapkit.monitor.MONITOR_DEFAULTS["churn_days"]))
past_runs = gapkit.history(history or gapkit.monitor.history_path(out))  # earlier runs of this report's family
publish.write_csv(alarms.table, out, "alerts.csv")
publish.write_csv(comeback.table, out, "retention.csv")
lost = comeback.churn if isinstance(comeback, gapkit.monitor.RetentionResult) else comeback.table
publish.write_csv(lost, out, "churn.csv");

# %%
publish.findings(story.current_state_findings(kpi_table, dataset.counts, segments, current))

# %% [markdown]
# ## Alerts
#
# Months of the recent past whose KPI left its control limits (a p-chart for shares, limits from
# the earlier months' spread for means and medians) or sat on one side of the center for a long
# run. Checking many KPIs and segments at once, the limits widen with their number so that a
# false alarm somewhere in this report stays unlikely (about 5%).

# %%
alarms

# %% [markdown]
# ## Data quality
#
# Rows read per table, how many were kept and how many quarantined. `input_rows = kept + rejected`
# always holds. Below, the reasons rows were rejected; the full list (table, row, column, value,
# reason) is in `rejects.csv`, so each can be fixed at the source.

# %%
display(formatting.table(dataset.counts, caption="Rows read, kept and set aside, per table"))
# how the files were read, files in the folder that were not, and where the KPIs were computed
display(publish.findings([*dataset.notes, story.engine_note(settings.engine)], title="How this report was computed"))
display(formatting.table(story.reject_summary(dataset.rejects), caption="Why rows were set aside"))

# %% [markdown]
# ## KPI scorecard
#
# All KPIs over the whole history up to the report date. Windowed KPIs (SLA, resolution,
# coverage, repeat purchase, referral) count only units whose window has fully elapsed, so recent
# customers do not drag a rate down before they have had the chance.

# %%
formatting.table(story.kpi_overview(kpi_table), {"n": "count"}, caption="Every KPI over the whole history")

# %% [markdown] tags=["hide-in-report"]
# The key figures as plain numbers (value, 95% CI, n); the regression tests guard these.

# %% tags=["nbval-check-output"]
print(story.key_numbers(kpi_table))

# %%
plots.scorecard(kpi_table, targets)
plt.show()

# %% [markdown]
# ## Support on the team's clock
#
# Response and resolution times on the wall clock, and in business hours: the clock of the
# configuration's `business_hours` (time zone, opening hours, public holidays), which stops at
# night, at weekends and on holidays. A ticket opened on Friday evening and answered on Monday
# at 09:30 waited 60 hours on the wall clock and half an hour of business time.

# %%
story.support_clocks(kpi_table, settings.params.business_hours)

# %% [markdown]
# ## Trends by month
#
# Each point is one calendar month (by the KPI's anchor date) with its 95% band; the dashed line is
# the target from the configuration, where there is one. Months with few units have wide bands.

# %%
trends = adapt.headline_kpis(kpi_table)
if trends:
    fig, axes = plots.panels(len(trends))
    for ax, kpi in zip(axes, trends):
        plots.trend(kpi_table, kpi, target=targets.get(kpi), ax=ax)
    plt.show()
else:
    display(adapt.Skipped("Trends by month", "no KPI has values in two or more months up to the report date",
                          "how each KPI moved month by month", "run on a longer history or a later as_of"))

# %% [markdown]
# ## Changes since earlier runs
#
# The monthly values of the headline KPIs as each earlier run saw them. Past months move when
# surveys arrive late or tickets close later; `revised` is the largest change between runs.

# %%
if len(past_runs):
    display(gapkit.monitor.show_revisions(gapkit.monitor.revisions(past_runs, kpi_table, settings.as_of, trends)))
else:
    display(publish.paragraphs("This is the first run kept in the history, so there is nothing to compare with yet; "
                               "each run of gapkit adds its KPIs to history.parquet beside the report folders."))

# %% [markdown]
# ## Segments
#
# KPIs by the segment columns (the configuration's `segments`, or the customer attributes and
# channels the data holds). A segment whose interval does not overlap the others is really
# different; overlapping intervals may be noise.

# %%
pairs = adapt.comparisons(kpi_table, settings.compare)
if pairs:
    fig, axes = plots.panels(len(pairs))
    for ax, (kpi, segment_by) in zip(axes, pairs):
        plots.segment_comparison(kpi_table, kpi, segment_by, ax=ax)
    plt.show()
    # a survey KPI speaks for those who answered: said where segments answer at different rates
    caveats = story.response_caveats(kpi_table, pairs)
    if caveats:
        display(publish.findings(caveats, title="Who answered the surveys"))
else:
    display(adapt.Skipped("The segment comparison", "no column splits the KPIs into two or more groups",
                          "where one group of customers is served worse than another",
                          "add customers.csv with attributes such as region or plan, or name columns under "
                          "`segments` in gapkit.yml"))

# %% [markdown]
# ## Retention
#
# The share of customers who have ordered again, by days since their first order (Kaplan-Meier:
# customers whose first order is recent count for as long as they have been observed), by
# segment; beside it, the same by the month of the first order. Then churn: a customer counts as
# lost once `churn_days` (configuration `monitor`, default 180) pass without an order; the curve is
# the share lost by days since the first order, censored at the report date.

# %%
fig, axes = plots.panels(3)
comeback.plot(ax=axes[0], segment_by=segments[0] if segments else "all")
comeback.plot_cohorts(ax=axes[1])
comeback.plot(ax=axes[2], segment_by=segments[0] if segments else "all", churn=True)
plt.show()

# %% [markdown]
# ## What the data could not measure

# %%
missing = adapt.skipped_table(kpi_table)
(formatting.table(missing, caption="KPIs the data could not measure, and why") if len(missing) else
 publish.paragraphs("Every KPI could be measured: each table and column it needs is present."))

# %% [markdown]
# ## Glossary
#
# - **95% confidence interval (CI)**: the range the true value lies in, given the sample, 19 times
#   out of 20. Shares use the Wilson interval (it stays inside 0-100% even at small n); medians use
#   the order statistics around the middle.
# - **n**: the number of units (orders, tickets, surveys, customers) a value is computed from.
# - **Current level**: a KPI over its last complete months (three by default); a month counts once
#   it and the KPI's own window (e.g. 90 days for repeat purchase) are over.
# - **Censoring**: a customer who bought last week cannot yet have come back within 90 days; such
#   customers are counted only once their window has passed.
# - **Control chart**: a month is out of control when it leaves the band the earlier months' spread
#   allows (a p-chart for shares), widened for the number of KPIs checked at once.
# - **Kaplan-Meier curve**: the share who have ordered again by each day since their first order,
#   counting each customer only for as long as they have been followed ("at risk").
# - **Adjusted p (Benjamini-Hochberg)**: a p-value corrected for testing many comparisons at once,
#   so a difference picked from many is not stated more often than the level says.
