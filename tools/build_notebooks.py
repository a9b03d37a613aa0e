"""Write the notebook suite's sources (cells without outputs) from this one readable file.

Run `python tools/build_notebooks.py` after editing, then `gapkit refresh-notebooks` to execute
them on data/sample so the stored outputs (which nbval checks) match the code.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent.parent / "notebooks"

PARAMETERS = '''data: str = "../data/sample"  # folder of input tables (CSV or Parquet)
as_of: str = "2025-06-30"  # report date: events after the end of this day are ignored
config: str = "../gapkit.yml"  # run configuration (segments, windows, goals...); "" for defaults
out: str = "../reports/interactive"  # folder this run writes its artifacts to (gapkit run passes its own)'''

SETUP = '''import logging

import matplotlib.pyplot as plt
from IPython.display import display

import gapkit
from gapkit import adapt, config as configuration, formatting, plots, publish, story

logging.getLogger("gapkit").setLevel(logging.ERROR)
settings = configuration.read(config or None, data=data, as_of=as_of, out=out)
plots.set_theme()'''


def md(text):
    return new_markdown_cell(text.strip())


def code(text, *tags):
    cell = new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def params():
    return code(PARAMETERS, "parameters")


NOTEBOOKS = {
    "01_current_state": [
        md("""
# 1. Current state of post-sale follow-up

Where customer care after the sale stands today, measured from the company's own data: orders,
follow-up messages, support tickets, surveys and referrals. Every number comes with its sample
size **n** and a **95% confidence interval**; a wide interval means "we do not know this
precisely yet", not "this is bad".

How to read it: the findings first; then how much of the input could be used (rows that break a
rule are quarantined, never silently dropped); then the KPI scorecard, monthly trends and the
differences between segments.
"""),
        params(),
        code(SETUP + '''
dataset = gapkit.load(settings.data, earliest=settings.earliest)
segments = adapt.segment_columns(dataset, settings.segments)  # configured, else what the data holds
kpi_table = gapkit.kpis(dataset, as_of=settings.as_of, by=segments, period="M", params=settings.params)
targets = {goal.kpi: goal.target for goal in settings.goals if goal.segment_by == "all"}
publish.write_csv(kpi_table, out, "kpis.csv")
publish.write_csv(dataset.rejects, out, "rejects.csv")
publish.write_csv(dataset.counts, out, "row_counts.csv");'''),
        code('publish.findings(story.current_state_findings(kpi_table, dataset.counts, segments))'),
        md("""
## Data quality

Rows read per table, how many were kept and how many quarantined. `input_rows = kept + rejected`
always holds. Below, the reasons rows were rejected; the full list (table, row, column, value,
reason) is in `rejects.csv`, so each can be fixed at the source.
"""),
        code('''display(formatting.table(dataset.counts))
if dataset.notes:  # how the files were read, and files in the folder that were not
    display(publish.findings(list(dataset.notes), title="How the files were read"))
display(formatting.table(story.reject_summary(dataset.rejects)))'''),
        md("""
## KPI scorecard

All KPIs over the whole history up to the report date. Windowed KPIs (SLA, resolution,
coverage, repeat purchase, referral) count only units whose window has fully elapsed, so recent
customers do not drag a rate down before they have had the chance.
"""),
        code('formatting.table(story.kpi_overview(kpi_table), {"n": "count"})'),
        md("The key figures as plain numbers (value, 95% CI, n); the regression tests guard these."),
        code('print(story.key_numbers(kpi_table))', "nbval-check-output"),
        code('plots.scorecard(kpi_table, targets)\nplt.show()'),
        md("""
## Trends by month

Each point is one calendar month (by the KPI's anchor date) with its 95% band; the dashed line is
the target from the configuration, where there is one. Months with few units have wide bands.
"""),
        code('''trends = adapt.headline_kpis(kpi_table)
if trends:
    fig, axes = plots.panels(len(trends))
    for ax, kpi in zip(axes, trends):
        plots.trend(kpi_table, kpi, target=targets.get(kpi), ax=ax)
    plt.show()
else:
    display(adapt.Skipped("Trends by month", "no KPI has values in two or more months up to the report date",
                          "how each KPI moved month by month", "run on a longer history or a later as_of"))'''),
        md("""
## Segments

KPIs by the segment columns (the configuration's `segments`, or the customer attributes and
channels the data holds). A segment whose interval does not overlap the others is really
different; overlapping intervals may be noise.
"""),
        code('''pairs = adapt.comparisons(kpi_table, settings.compare)
if pairs:
    fig, axes = plots.panels(len(pairs))
    for ax, (kpi, segment_by) in zip(axes, pairs):
        plots.segment_comparison(kpi_table, kpi, segment_by, ax=ax)
    plt.show()
else:
    display(adapt.Skipped("The segment comparison", "no column splits the KPIs into two or more groups",
                          "where one group of customers is served worse than another",
                          "add customers.csv with attributes such as region or plan, or name columns under "
                          "`segments` in gapkit.yml"))'''),
        md("## What the data could not measure"),
        code('''lines = adapt.skipped_kpis(kpi_table)
print("\\n".join(lines) if lines else "Every KPI could be measured: each table and column it needs is present.")'''),
    ],
    "02_desired_state": [
        md("""
# 2. Desired state: targets and SMART goals

Where we want to be, written as SMART goals and checked with numbers rather than taken on
trust. For each goal: **S**pecific (one KPI, one population that exists in the data),
**M**easurable (a baseline with enough n, and the statistical power to see the change by the
deadline), **A**ttainable (the monthly change needed against the historical trend and the best
segment or month), **R**elevant (linked to a customer outcome), **T**ime-bound (a deadline after
the report date, within two years, with monthly milestones).
"""),
        params(),
        code(SETUP + '''
import pandas as pd

from gapkit import goals as goal_checks

kpi_table = publish.read_csv(out, "kpis.csv")
dataset = gapkit.load(settings.data, earliest=settings.earliest)
segments = [c for c in kpi_table["segment_by"].unique() if c != "all"]
# which follow-up and support experiences go with customers coming back, all else held fixed
drivers = adapt.attempt(
    "The key-driver model", "which follow-up, delivery and support experiences go with customers coming back",
    "export followups.csv, tickets.csv or delivery dates, over a history longer than the 90-day repeat window",
    adapt.key_drivers, dataset, settings.as_of, settings.driver_controls, params=settings.params, seed=settings.seed)
result = goal_checks.smart(settings.goals, kpi_table, settings.as_of, drivers=drivers.table)
publish.write_csv(drivers.table, out, "drivers.csv")
proposals = (goal_checks.propose_targets(kpi_table, segments[0], benchmarks=pd.DataFrame(list(settings.benchmarks)))
             if segments else adapt.Skipped(
                 "Proposed targets", "the KPIs are not broken down by any segment column",
                 "targets set from what the best segments already achieve",
                 "add customers.csv with attributes such as region or plan, or name columns under `segments`"))
publish.write_csv(result.table, out, "goals.csv")
publish.write_csv(result.milestones, out, "milestones.csv");'''),
        code('publish.findings(story.desired_state_findings(result.table))'),
        md("## The goals and their SMART verdicts\n\nEach letter is pass, warn or fail; the reasons give the numbers behind it."),
        code('''result if settings.goals else adapt.Skipped(
    "The SMART check", "the configuration sets no goals", "each goal's five SMART verdicts with the numbers behind them",
    "add goals (id, kpi, target, deadline) to gapkit.yml; the targets proposed below are a place to start")'''),
        code('''if len(result.table):
    print(result.summary())''', "nbval-check-output"),
        md("""
### What makes customers come back (for the *Relevant* check)

A key-driver model of repeat purchase within the repeat window of a customer's first order
(logistic regression holding the customers' attributes and the month fixed). Importance is each experience's
share of the explained variance (Johnson's relative weights) with a bootstrap 95% interval;
a KPI is *relevant* when its driver's association is significant (p < 0.05).
"""),
        code('print(drivers.summary())\ndrivers.plot()\nplt.show()'),
        code('''for row in result.table.itertuples(index=False):
    print(f"{row.goal_id}:")
    for part in row.reason.split("; "):
        print("   ", part)'''),
        md("""
## Targets proposed from the data

Where the configuration has no goal, gapkit proposes one: the **benchmark** is what the best
segments already achieve (the Achievable Benchmarks of Care method: the pared mean of the top
performers holding at least 10% of units, with small segments shrunk toward the overall value so
they cannot win on luck), and the **stretch** target lies halfway between today and that benchmark.
"""),
        code('''proposals if isinstance(proposals, adapt.Skipped) else formatting.table(
    proposals, {"baseline": "kpi", "benchmark": "kpi", "stretch": "kpi", "external": "kpi"})'''),
        md("## Trajectories\n\nBaseline history, target (dashed) and the monthly milestones (dotted) that lead to it."),
        code('''goals_to_draw = list(settings.goals)[:4]
if goals_to_draw:
    fig, axes = plots.panels(len(goals_to_draw))
    for ax, goal in zip(axes, goals_to_draw):
        plots.trend(kpi_table, goal.kpi, goal.segment_by, goal.segment, target=goal.target,
                    milestones=result.milestones[result.milestones.goal_id == goal.id], ax=ax)
    plt.show()
else:
    display(adapt.Skipped("Trajectories", "the configuration sets no goals",
                          "each goal's path from today to its target, month by month", "add goals to gapkit.yml"))'''),
    ],
    "03_gap_identification": [
        md("""
# 3. Gap identification

Current against desired, for every goal: how far off we are, whether that gap is real at the
sample size we have, and what to fix first. A gap is **positive when we fall short**, whatever
the KPI's direction. The test asks "could the KPI actually meet its target and we just see
noise?"; p-values are adjusted for testing many goals at once (Benjamini-Hochberg), and a gap
smaller than the noise is reported as *not significant*, never as a shortfall.
"""),
        params(),
        code(SETUP + '''
from gapkit import gaps as gap_analysis

kpi_table = publish.read_csv(out, "kpis.csv")
drivers = publish.read_csv(out, "drivers.csv")
dataset = gapkit.load(settings.data, earliest=settings.earliest)
segments = [c for c in kpi_table["segment_by"].unique() if c != "all"]
result = gap_analysis.gaps(settings.goals, kpi_table, data=dataset, as_of=settings.as_of,
                           drivers=drivers, params=settings.params)
publish.write_csv(result.table, out, "gaps.csv")
targets = {goal.kpi: goal.target for goal in settings.goals if goal.segment_by == "all"}
ipa = adapt.attempt("The importance-performance chart", "the KPIs that matter most for customers coming back "
                    "and how well each performs", "export followups.csv or tickets.csv (see the key drivers in report 2)",
                    gapkit.drivers.importance_performance, kpi_table, drivers, targets=targets)
trip = adapt.attempt("The journey map", "the post-sale stages each order passes through, how many reach each "
                     "and how long it takes", "export followups.csv, tickets.csv or surveys.csv with order_id",
                     gapkit.journey.journey, dataset, settings.as_of,
                     by=adapt.journey_by(dataset, settings.journey_by, segments), params=settings.params)
comments = adapt.requires(dataset, {"surveys": ["comment"]}, "What customers say",
                          "the mood of survey comments and their recurring themes",
                          "export surveys.csv with a comment column") or gapkit.text.sentiment(
                              dataset["surveys"], language=settings.language)
sentiment = adapt.requires(dataset, {"surveys": ["comment", "answered_at"]}, "Comment sentiment by segment",
                          "the mood of comments as a KPI per segment", "export surveys.csv with comment and "
                          "answered_at") or adapt.attempt("Comment sentiment by segment", "the mood of comments as a KPI per segment",
                          "export surveys.csv with comment and answered_at", gapkit.text.sentiment_kpi, dataset,
                          settings.as_of, by=adapt.columns_for(dataset, "surveys", segments), period="M")
plan = gapkit.actions.action_plan(
    result.table, kpi_table, drivers=drivers, journey=None if isinstance(trip, adapt.Skipped) else trip,
    comments=None if isinstance(comments, adapt.Skipped) else comments, valuation=list(settings.valuation),
    rule=result.rule, currency=settings.currency, as_of=settings.as_of)
publish.write_csv(plan.table, out, "action_plan.csv");'''),
        code('publish.findings(story.gap_findings(result.table))'),
        md("""
## Action plan

The significant shortfalls, most urgent first (the same ranking as the findings and the gap
table), each with the evidence behind it: what the key-driver model says, where in the journey
it happens and what unhappy customers write about that stage; then a first step to take and,
where the configuration says what the KPI is worth, the value of closing the gap per month.
"""),
        code('''plan if settings.goals else adapt.Skipped(
    "The action plan", "the configuration sets no goals", "the shortfalls to fix first, with their evidence and a "
    "first step", "add goals (id, kpi, target, deadline) to gapkit.yml; report 2 proposes targets")'''),
        md("## The gap table"),
        code('''result if settings.goals else adapt.Skipped(
    "The gap table", "the configuration sets no goals", "how far each goal's KPI is from its target and whether "
    "that gap is real", "add goals (id, kpi, target, deadline) to gapkit.yml; report 2 proposes targets")'''),
        code('''if len(result.table):
    print(result.table[["goal_id", "status", "gap", "p_adj", "priority", "rank"]].round(4)
          .to_string(index=False, na_rep="-"))''',
             "nbval-check-output"),
        md("""
## The gaps at a glance

Bars to the right of zero are shortfalls, sized relative to the target; the whiskers are 95%
intervals. Red: a significant shortfall; amber: short, but within the noise; green: met.
"""),
        code('''if len(result.table):
    result.plot()
    plt.show()'''),
        md("""
## What to fix first: importance against performance

Importance comes from the key-driver model (what goes with customers coming back); performance
is how close each KPI is to its best (0..1, direction-aware). The classic quadrants split at the
means: **concentrate here** (important, performing poorly), keep up the good work, low priority,
possible overkill. When the driver model cannot tell the drivers apart (their importance
intervals overlap, or together they explain almost nothing), no quadrant is named, and the gap
table ranks shortfalls by their size alone.
"""),
        code('ipa.plot()\nplt.show()'),
        code('ipa'),
        md("""
## The post-sale journey, from the event data

Stages in time order with the share of orders that reach each (95% CI), the median days from the
order, the main channel, and the mood of the comments tied to the stage (VADER sentiment, red =
negative). Stages marked as *opportunity* hold a significant gap for that group.

The unit here is an order, every order old enough for its whole journey, a returning customer's
later orders included; so the *repeat purchase* stage (an order followed by another within the
window) reads higher than the KPI `repeat_purchase_rate`, which follows each customer's first
order only.
"""),
        code('''for figure in trip.plot_each(gaps=result.table):
    plt.show()'''),
        code('''trip if isinstance(trip, adapt.Skipped) else formatting.table(
    trip.rows("all")[["stage", "n", "coverage", "median_days", "sentiment", "top_channel"]],
    {"coverage": "share", "median_days": "number", "sentiment": "number"})'''),
        md("""
## What customers say

Comments scored with VADER (English only: comments in other languages are counted as not scored,
not mis-scored). Recurring phrases of the negative comments, and comment sentiment by segment as
a KPI. Comment text is shown with e-mail addresses and phone numbers redacted.
"""),
        code('''if isinstance(comments, adapt.Skipped):
    display(comments)
else:
    print(comments.groupby(["scored", "reason"], dropna=False).size().to_string())
    display(formatting.table(gapkit.text.themes(comments).head(10)))
    negative = comments[comments["label"] == "negative"].sort_values("compound").head(5)
    display(formatting.table(publish.safe_frame(negative[["response_id", "compound", "comment"]])))'''),
        code('''if not isinstance(sentiment, adapt.Skipped):
    print(sentiment[(sentiment.period == "all")][["segment_by", "segment", "n", "value", "ci_low", "ci_high"]]
          .round(3).to_string(index=False))
elif not isinstance(comments, adapt.Skipped):  # else the section above already said what is missing
    display(sentiment)''', "nbval-check-output"),
        code('''quality = gapkit.drivers.servqual(dataset["surveys"]) if "surveys" in dataset else None
if quality is not None:  # survey items scored as expectation and perception pairs
    display(quality)'''),
    ],
    "04_impact_measurement": [
        md("""
# 4. Impact measurement and cost-benefit

Did a follow-up strategy move the KPI, and was it worth its cost? For every intervention and KPI
gapkit picks the strongest method the data supports and says why:

- **difference-in-differences** when an untreated comparison group exists (the treated segment
  against the rest; unit-level regression with errors clustered by customer, and a placebo test
  on the pre-period to check that the groups moved in parallel before);
- **A/B comparison** when customers were randomised (a `variant` column), with the power and the
  minimum detectable effect at the observed n;
- **interrupted time series** when everyone was treated (segmented regression on the monthly
  series);
- a plain **before/after** comparison is always shown too, labelled naive: it mistakes any change
  that hit everyone at the same time for an effect.

The money follows: benefit = effect x units reached per month x value per unit, over the horizon,
discounted monthly (month 0 undiscounted); the NPV interval carries the effect's uncertainty.
"""),
        params(),
        code(SETUP + '''
from gapkit import goals as goal_checks, impact, money

dataset = gapkit.load(settings.data, earliest=settings.earliest)
kpi_table = publish.read_csv(out, "kpis.csv")
effects = adapt.requires(dataset, {"interventions": ["intervention_id", "start_at"]}, "Impact measurement",
                         "whether each follow-up strategy moved its KPIs, with honest uncertainty",
                         "export interventions.csv (intervention_id, name, start_at, and segment_by/segment for who "
                         "was treated)") or adapt.attempt(
    "Impact measurement", "whether each follow-up strategy moved its KPIs, with honest uncertainty",
    "export interventions.csv (intervention_id, name, start_at, and segment_by/segment for who was treated)",
    impact.measure, dataset, settings.as_of, list(settings.impact_kpis), params=settings.params)
value = adapt.Skipped(
    "Cost-benefit", "no strategy's effect could be measured (see above)", "the NPV, ROI and payback of each strategy",
    "export interventions.csv and costs.csv") if isinstance(effects, adapt.Skipped) else adapt.attempt(
    "Cost-benefit", "the NPV, ROI and payback of each strategy",
    "export costs.csv (intervention_id, incurred_at, amount) and say under `valuation` in gapkit.yml what a change "
    "of each KPI is worth", money.evaluate, effects, dataset, list(settings.valuation), settings.as_of,
    params=settings.params, seed=settings.seed, intangible_scores=list(settings.intangibles),
    currency=settings.currency)
progress = goal_checks.progress(settings.goals, kpi_table, settings.as_of)
publish.write_csv(effects.table, out, "impact.csv")
publish.write_csv(value.table, out, "cost_benefit.csv")
publish.write_csv(progress, out, "goal_progress.csv");'''),
        code('''publish.findings(story.impact_findings(effects.table, value.table, progress, currency=settings.currency)
                 + [part.sentence() for part in (effects, value) if isinstance(part, adapt.Skipped)])'''),
        md("""
## Effects

One row per intervention x KPI x method; `chosen` marks the method to believe, `why` says why,
and `note` flags doubts (for instance a failed parallel-trends check). Shares are in
probability points; medians were modelled on the log scale and are shown in their own unit.
"""),
        code('effects'),
        code('''if not isinstance(effects, adapt.Skipped):
    print(effects.chosen()[["intervention_id", "kpi", "method", "effect", "ci_low", "ci_high", "p_value"]]
      .round(4).to_string(index=False))''', "nbval-check-output"),
        code('''if not isinstance(effects, adapt.Skipped):
    print(effects.summary())'''),
        md("""
## Observed against the counterfactual

Treated units (with 95% bands) against the comparison group or the projected pre-trend; the
dashed line is what the treated would have looked like without the intervention.
"""),
        code('''chosen = [] if isinstance(effects, adapt.Skipped) else list(effects.chosen().itertuples(index=False))
if chosen:
    fig, axes = plots.panels(len(chosen))
    for ax, row in zip(axes, chosen):
        effects.plot(row.intervention_id, row.kpi, ax=ax)
    plt.show()'''),
        md("""
## Cost-benefit

Costs come from the costs table (one-off as incurred, recurring projected at the recent monthly
run-rate). NPV = benefit PV - cost PV; ROI = NPV / cost PV; payback is the first month the
cumulative discounted net turns positive. An intervention *clears zero* when even the low end of
its 95% NPV interval is positive.
"""),
        code('value'),
        code('''if not isinstance(value, adapt.Skipped):
    print(value.table[["intervention_id", "cost_pv", "benefit_pv", "npv", "npv_ci_low", "npv_ci_high", "roi"]]
      .round(2).to_string(index=False))''', "nbval-check-output"),
        code('''if not isinstance(value, adapt.Skipped):
    print(value.summary())'''),
        code('''if len(value.table):
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.5), constrained_layout=True)
    value.plot(ax=axes[0])
    value.plot_tornado(value.table.intervention_id.iloc[0], ax=axes[1])
    plt.show()'''),
        md("## Intangibles\n\nFactors the team scored in the configuration (-2 harms .. +2 helps), beside the NPV."),
        code('''value.overview() if not isinstance(value, adapt.Skipped) else adapt.Skipped(
    "The intangibles", "there is no cost-benefit to set them beside (see above)",
    "the factors the team scored for each strategy", "score them under `intangibles` in gapkit.yml")'''),
        md("""
## Goal progress

For each goal, the recent monthly trend projected to its deadline: *on track* when even the
pessimistic end of the projection meets the target, *off track* when even the optimistic end
misses it, *at risk* in between.
"""),
        code('''formatting.table(progress, {"current": "kpi", "target": "kpi", "slope": "gap", "projected": "kpi",
                             "projected_low": "kpi", "projected_high": "kpi"}) if len(progress) else adapt.Skipped(
    "Goal progress", "the configuration sets no goals", "whether each goal is on track for its deadline",
    "add goals to gapkit.yml")'''),
    ],
}


def main():
    for name, cells in NOTEBOOKS.items():
        notebook = new_notebook(cells=cells)
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        notebook.metadata["language_info"] = {"name": "python"}
        path = HERE / f"{name}.ipynb"
        nbformat.write(notebook, path)
        print("wrote", path)


if __name__ == "__main__":
    main()
