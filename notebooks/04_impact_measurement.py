# %% [markdown]
# # 4. Impact measurement and cost-benefit
#
# Did a follow-up strategy move the KPI, and was it worth its cost? For every intervention and KPI
# gapkit picks the strongest method the data supports and says why:
#
# - **difference-in-differences** when an untreated comparison group exists (the treated segment
#   against the rest; unit-level regression with errors clustered by customer, and a placebo test
#   on the pre-period to check that the groups moved in parallel before);
# - **A/B comparison** when customers were randomised (a `variant` column), with the power and the
#   minimum detectable effect at the observed n;
# - **interrupted time series** when everyone was treated (segmented regression on the monthly
#   series);
# - a plain **before/after** comparison is always shown too, labelled naive: it mistakes any change
#   that hit everyone at the same time for an effect.
#
# The money follows: benefit = effect x units reached per month x value per unit, over the horizon,
# discounted monthly (month 0 undiscounted); the NPV interval carries the effect's uncertainty.

# %% tags=["parameters"]
data: str = "../data/sample"  # folder of input tables (CSV or Parquet)
as_of: str = "2025-06-30"  # report date: events after the end of this day are ignored
config: str = "../gapkit.yml"  # run configuration (segments, windows, goals...); "" for defaults
out: str = "../reports/interactive"  # folder this run writes its artifacts to (gapkit run passes its own)

# %%
import matplotlib.pyplot as plt
from IPython.display import display

import gapkit
from gapkit import adapt, formatting, plots, publish, story

settings = gapkit.notebook.setup(config, data=data, as_of=as_of, out=out)
from gapkit import impact, money

dataset = gapkit.notebook.dataset(settings)
kpi_table = gapkit.pipeline.carried(out, "kpis")  # as report 1 measured it, segments and skipped KPIs included
current = gapkit.pipeline.carried(out, "current")
effects = adapt.requires(dataset, {"interventions": ["intervention_id", "start_at"]}, "Impact measurement",
                         "whether each follow-up strategy moved its KPIs, with honest uncertainty",
                         "export interventions.csv (intervention_id, name, start_at, and segment_by/segment for who "
                         "was treated)") or adapt.attempt(
    "Impact measurement", "whether each follow-up strategy moved its KPIs, with honest uncertainty",
    "export interventions.csv (intervention_id, name, start_at, and segment_by/segment for who was treated)",
    impact.measure, dataset, settings.as_of, list(settings.impact_kpis), params=settings.params, seed=settings.seed,
    engine=settings.engine)
value = adapt.Skipped(
    "Cost-benefit", "no strategy's effect could be measured (see above)", "the NPV, ROI and payback of each strategy",
    "export interventions.csv and costs.csv") if isinstance(effects, adapt.Skipped) else adapt.attempt(
    "Cost-benefit", "the NPV, ROI and payback of each strategy",
    "export costs.csv (intervention_id, incurred_at, amount) and say under `valuation` in gapkit.yml what a change "
    "of each KPI is worth", money.evaluate, effects, dataset, list(settings.valuation), settings.as_of,
    params=settings.params, seed=settings.seed, intangible_scores=list(settings.intangibles),
    currency=settings.currency, engine=settings.engine)
progress = gapkit.goals.progress(settings.goals, kpi_table, settings.as_of, current=current)
publish.write_csv(effects.table, out, "impact.csv")
publish.write_csv(value.table, out, "cost_benefit.csv")
publish.write_csv(progress, out, "goal_progress.csv");

# %%
publish.findings(story.impact_findings(effects.table, value.table, progress, currency=settings.currency)
                 + [part.sentence() for part in (effects, value) if isinstance(part, adapt.Skipped)])

# %% [markdown]
# ## Effects
#
# One row per intervention x KPI x method; `chosen` marks the method to believe, `why` says why,
# and `note` flags doubts (for instance a failed parallel-trends check). Shares are in
# probability points; medians were modelled on the log scale and are shown in their own unit.

# %%
effects

# %% tags=["nbval-check-output"]
if not isinstance(effects, adapt.Skipped):
    print(effects.chosen()[["intervention_id", "kpi", "method", "effect", "ci_low", "ci_high", "p_value"]]
      .round(4).to_string(index=False))

# %%
if not isinstance(effects, adapt.Skipped):
    display(publish.paragraphs(effects.summary()))

# %% [markdown]
# ## Observed against the counterfactual
#
# Treated units (with 95% bands) against the comparison group or the projected pre-trend; the
# dashed line is what the treated would have looked like without the intervention.

# %%
chosen = [] if isinstance(effects, adapt.Skipped) else list(effects.chosen().itertuples(index=False))
if chosen:
    fig, axes = plots.panels(len(chosen))
    for ax, row in zip(axes, chosen):
        effects.plot(row.intervention_id, row.kpi, ax=ax)
    plt.show()

# %% [markdown]
# ## Cost-benefit
#
# Costs come from the costs table (one-off as incurred, recurring projected at the recent monthly
# run-rate). NPV = benefit PV - cost PV; ROI = NPV / cost PV; payback is the first month the
# cumulative discounted net turns positive. An intervention *clears zero* when even the low end of
# its 95% NPV interval is positive.

# %%
value

# %% tags=["nbval-check-output"]
if not isinstance(value, adapt.Skipped):
    print(value.table[["intervention_id", "cost_pv", "benefit_pv", "npv", "npv_ci_low", "npv_ci_high", "roi"]]
      .round(2).to_string(index=False))

# %%
if not isinstance(value, adapt.Skipped):
    display(publish.paragraphs(value.summary()))

# %%
if len(value.table):
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.5), constrained_layout=True)
    value.plot(ax=axes[0])
    value.plot_tornado(value.table.intervention_id.iloc[0], ax=axes[1])
    plt.show()

# %% [markdown]
# ## Intangibles
#
# Factors the team scored in the configuration (-2 harms .. +2 helps), beside the NPV.

# %%
value.overview() if not isinstance(value, adapt.Skipped) else adapt.Skipped(
    "The intangibles", "there is no cost-benefit to set them beside (see above)",
    "the factors the team scored for each strategy", "score them under `intangibles` in gapkit.yml")

# %% [markdown]
# ## Goal progress
#
# For each goal, the recent monthly trend projected to its deadline: *on track* when even the
# pessimistic end of the projection meets the target, *off track* when even the optimistic end
# misses it, *at risk* in between.

# %%
formatting.table(progress, {"current": "kpi", "target": "kpi", "slope": "gap", "projected": "kpi",
                             "projected_low": "kpi", "projected_high": "kpi"},
                 caption="Where each goal heads by its deadline") if len(progress) else adapt.Skipped(
    "Goal progress", "the configuration sets no goals", "whether each goal is on track for its deadline",
    "add goals to gapkit.yml")

# %% [markdown]
# ## Glossary
#
# - **Difference-in-differences**: the change in the treated segment minus the change in the
#   untreated ones over the same months, which removes what hit everyone at once.
# - **Interrupted time series**: the monthly series' own trend before the strategy, extended past its
#   start, is what would have happened without it; the effect is the jump from that line. A month's
#   deviation may carry over into the next (autocorrelation, modelled as AR(1)); the interval allows
#   for it.
# - **A/B test**: customers randomised to two variants; the difference between them is the effect.
#   When one customer has several units, the interval counts customers (errors clustered by
#   customer; the *design effect* says how much less the units are worth).
# - **Smallest detectable effect (mde)**: the effect the data would detect 80% of the time at the 5%
#   level.
# - **NPV**: the value of the effect over the horizon minus the costs, both discounted to today; its
#   95% interval comes from the effect's. **ROI** = NPV / cost; **payback**: the first month the
#   cumulative discounted net turns positive. An intervention *clears zero* when even the low end of
#   its NPV interval is positive.
