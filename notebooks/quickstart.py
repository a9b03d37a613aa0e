# %% [markdown]
# # gapkit in twenty cells
#
# Explore your own data the way the reports do, one call at a time. Set `data` to your folder
# (the contract's tables, `orders.csv` at least) and `as_of` to the report date; each call below
# is a plain function returning a result that shows itself as a table, says what it found in
# `summary()`, draws itself with `plot()` and writes its artifact with `to_csv()`.

# %% tags=["parameters"]
data: str = "../data/sample"  # folder of input tables (CSV or Parquet)
as_of: str = "2025-06-30"  # report date: events after the end of this day are ignored
config: str = ""  # a gapkit.yml whose `columns` key names your columns (e.g. order_id: id); "" for none

# %%
import matplotlib.pyplot as plt

import gapkit

gapkit.notebook.vector_charts()

# %% [markdown]
# Load and check the tables once: every row is kept or set aside with its reason.

# %%
tables = gapkit.load(data, columns=gapkit.config.read(config).columns if config else None)
tables.counts

# %% [markdown]
# Every KPI with its n and 95% interval, by the segment columns the data holds, month by month.

# %%
segments = gapkit.adapt.segment_columns(tables)
kpis = gapkit.kpis(tables, as_of, by=segments, period="M")
gapkit.formatting.table(gapkit.story.kpi_overview(kpis), {"n": "count"}, caption="Every KPI, whole history")

# %% [markdown]
# One KPI over the months, with its interval (the first share KPI the data measures).

# %%
first_share = next(k for k in kpis["kpi"].unique() if gapkit.KPIS[k].unit == "share")
gapkit.plots.trend(kpis, first_share)
plt.show()

# %% [markdown]
# Goals as plain dicts (as in gapkit.yml): current against target, tested, ranked. The current
# level is the last three complete months, as in the reports.

# %%
goals = [{"id": "csat", "kpi": "csat", "target": 0.80, "deadline": "2025-12-31"},
         {"id": "coverage", "kpi": "followup_coverage", "target": 0.85, "deadline": "2025-12-31"}]
gaps = gapkit.gaps.gaps(goals, kpis, data=tables, as_of=as_of)
gaps

# %%
gaps.plot()
plt.show()

# %% [markdown]
# Which experiences go with customers coming back, all else held fixed.

# %%
drivers = gapkit.drivers.key_drivers(tables, as_of)
drivers

# %% [markdown]
# Each goal's SMART checks, with the numbers behind each verdict.

# %%
smart = gapkit.goals.smart(goals, kpis, as_of, drivers=drivers, data=tables)
gapkit.goals.reasons_table(smart.table)

# %% [markdown]
# What to fix first: each shortfall with evidence from its own customers and a first step.

# %%
comments = gapkit.text.sentiment(tables["surveys"]) if "surveys" in tables and "comment" in tables["surveys"] else None
gapkit.actions.action_plan(gaps, kpis, drivers=drivers, comments=comments, data=tables, as_of=as_of)

# %% [markdown]
# Months out of control, for the worse or the better.

# %%
gapkit.monitor.alerts(kpis, as_of)

# %% [markdown]
# How many customers come back, and how soon (with the numbers still followed beneath).

# %%
comeback = gapkit.monitor.retention(tables, as_of, by=segments[:1])
comeback.plot(segment_by=segments[0] if segments else "all")
plt.show()

# %% [markdown]
# Did a follow-up strategy move a KPI? (Needs an interventions table.)

# %%
effects = gapkit.impact.measure(tables, as_of, ["csat", "repeat_purchase_rate"]) if "interventions" in tables else None
effects
