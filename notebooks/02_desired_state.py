# %% [markdown]
# # 2. Desired state: targets and SMART goals
#
# Where we want to be, written as SMART goals and checked with numbers rather than taken on
# trust. For each goal: **S**pecific (one KPI, one population that exists in the data),
# **M**easurable (a baseline with enough n, and the statistical power to see the change by the
# deadline), **A**ttainable (the monthly change needed against the historical trend and the best
# segment or month), **R**elevant (linked to a customer outcome), **T**ime-bound (a deadline after
# the report date, within two years, with monthly milestones).

# %% tags=["parameters"]
data: str = "../data/sample"  # folder of input tables (CSV or Parquet)
as_of: str = "2025-06-30"  # report date: events after the end of this day are ignored
config: str = "../gapkit.yml"  # run configuration (segments, windows, goals...); "" for defaults
out: str = "../reports/interactive"  # folder this run writes its artifacts to (gapkit run passes its own)

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

import gapkit
from gapkit import adapt, formatting, plots, publish, story

settings = gapkit.notebook.setup(config, data=data, as_of=as_of, out=out)
kpi_table = gapkit.pipeline.carried(out, "kpis")  # as report 1 measured it, segments and skipped KPIs included
current = gapkit.pipeline.carried(out, "current")
dataset = gapkit.notebook.dataset(settings)
segments = kpi_table.attrs["by"]
# which follow-up and support experiences go with customers coming back, all else held fixed
drivers = adapt.attempt(
    "The key-driver model", "which follow-up, delivery and support experiences go with customers coming back",
    "export followups.csv, tickets.csv or delivery dates, over a history longer than the 90-day repeat window",
    adapt.key_drivers, dataset, settings.as_of, settings.driver_controls, params=settings.params, seed=settings.seed,
    engine=settings.engine)
result = gapkit.goals.smart(settings.goals, kpi_table, settings.as_of, drivers=drivers.table, current=current)
publish.write_csv(drivers.table, out, "drivers.csv")
proposals = (gapkit.targets.propose_targets(kpi_table, segments[0], benchmarks=pd.DataFrame(list(settings.benchmarks)),
                                           current=current)
             if segments else adapt.Skipped(
                 "Proposed targets", "the KPIs are not broken down by any segment column",
                 "targets set from what the best segments already achieve",
                 "add customers.csv with attributes such as region or plan, or name columns under `segments`"))
publish.write_csv(result.table, out, "goals.csv")
publish.write_csv(result.milestones, out, "milestones.csv");

# %%
publish.findings(story.desired_state_findings(result.table))

# %% [markdown]
# ## The goals and their SMART verdicts
#
# Each letter is pass, warn or fail; the reasons give the numbers behind it.

# %%
result if settings.goals else adapt.Skipped(
    "The SMART check", "the configuration sets no goals",
    "each goal's five SMART verdicts with the numbers behind them",
    "add goals (id, kpi, target, deadline) to gapkit.yml; the targets proposed below are a place to start")

# %% tags=["nbval-check-output"]
if len(result.table):
    print(result.summary())

# %% [markdown]
# ### What makes customers come back (for the *Relevant* check)
#
# A key-driver model of repeat purchase within the repeat window of a customer's first order
# (logistic regression holding the customers' attributes and the month fixed). Importance is each experience's
# share of the explained variance (Johnson's relative weights) with a bootstrap 95% interval;
# a KPI is *relevant* when its driver's association is significant (p < 0.05).

# %%
display(publish.paragraphs(drivers.summary()))
drivers.plot()
plt.show()

# %%
gapkit.goals.reasons_table(result.table) if len(result.table) else None

# %% [markdown]
# ## Targets proposed from the data
#
# Where the configuration has no goal, gapkit proposes one: the **benchmark** is what the best
# segments already achieve (the Achievable Benchmarks of Care method: the pared mean of the top
# performers holding at least 10% of units, with small segments shrunk toward the overall value so
# they cannot win on luck), and the **stretch** target lies halfway between today and that benchmark.

# %%
proposals if isinstance(proposals, adapt.Skipped) else formatting.table(
    proposals, {"baseline": "kpi", "benchmark": "kpi", "stretch": "kpi", "external": "kpi"},
    caption="Targets proposed from what the best segments already achieve")

# %% [markdown]
# ## Trajectories
#
# Baseline history, target (dashed) and the monthly milestones (dotted) that lead to it.

# %%
goals_to_draw = list(settings.goals)[:4]
if goals_to_draw:
    fig, axes = plots.panels(len(goals_to_draw))
    for ax, goal in zip(axes, goals_to_draw):
        plots.trend(kpi_table, goal.kpi, goal.segment_by, goal.segment, target=goal.target,
                    milestones=result.milestones[result.milestones.goal_id == goal.id], ax=ax)
    plt.show()
else:
    display(adapt.Skipped("Trajectories", "the configuration sets no goals",
                          "each goal's path from today to its target, month by month", "add goals to gapkit.yml"))

# %% [markdown]
# ## Glossary
#
# - **SMART**: specific (one KPI, one population), measurable (enough units to detect the change:
#   statistical *power*, the chance of detecting it, 80% wanted), attainable (the pace needed against
#   the observed trend and the best segment or month), relevant (a demonstrated effect on customers
#   coming back, or an outcome itself), time-bound (a deadline within two years).
# - **Driver effect**: how much more likely a customer is to come back with one standard deviation
#   more of an experience, everything else in the model held fixed (a logistic regression), with its
#   95% interval. *Importance* (Johnson's relative weights) is each experience's share of what the
#   model explains, shown as description only.
# - **Benchmark (Achievable Benchmarks of Care)**: what the best-performing segments holding at least
#   10% of units already achieve, small segments shrunk toward the average first.
