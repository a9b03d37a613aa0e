"""The run configuration (``gapkit.yml``): every key optional, command-line flags override it.

Examples
--------
>>> config = gapkit.config.read(gapkit.datasets.sample_config().source, as_of="2025-06-30")
>>> config.goals[0].kpi
'followup_coverage'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from gapkit.contract import _mapping
from gapkit.contract._database import redact
from gapkit.contract._yaml import as_columns, as_list, as_mapping, as_number, as_ranged, as_text, load_file, text_of
from gapkit.contract.catalog import KPIS, bounds
from gapkit.errors import ConfigError, did_you_mean, parse_date  # noqa: F401 (parse_date: config's own)
from gapkit.measure.business_hours import BusinessHours
from gapkit.measure.definitions import Params

#: Defaults of the ``monitor`` rules (gapkit.monitor.alerts and retention).
MONITOR_DEFAULTS = {"months": 3, "baseline_min_months": 6, "false_alarm": 0.05, "sigma": 3.0, "churn_days": 180}


@dataclass(frozen=True)
class Goal:
    """A desired state: ``kpi`` (in ``segment`` of ``segment_by``, or everyone) at ``target`` by ``deadline``."""

    id: str
    kpi: str
    target: float
    deadline: str
    segment_by: str = "all"
    segment: str = "all"

    def __post_init__(self):
        # a Goal made in Python is checked as a goal in gapkit.yml is
        label = f"Goal {self.id!r}"
        _check_kpi(self.kpi, f"{label}: kpi")
        target = _kpi_value(self.kpi, self.target, f"{label}: target")
        if (str(self.segment_by) == "all") != (str(self.segment) == "all"):
            raise ConfigError(f"{label}: give both segment_by and segment, or neither (everyone).")
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "deadline", parse_date(self.deadline, f"{label}: deadline"))
        object.__setattr__(self, "segment_by", str(self.segment_by))
        object.__setattr__(self, "segment", str(self.segment))


@dataclass(frozen=True)
class Config:
    """Everything a run needs; see README "Configuration" for each key."""

    data: str = "data/sample"  # a folder, or a database (URL or file; gapkit.load says which)
    as_of: str | None = None  # None: ``gapkit run`` takes the last complete day in the orders
    out: str | None = None
    segments: tuple[str, ...] | None = None  # None: chosen from what the data holds (gapkit.adapt)
    params: Params = Params()
    goals: tuple[Goal, ...] = ()
    impact_kpis: tuple[str, ...] = ("csat", "repeat_purchase_rate")
    valuation: tuple[dict, ...] = ()
    intangibles: tuple[dict, ...] = ()
    benchmarks: tuple[dict, ...] = ()
    language: str | None = None  # None: each comment's language detected; set: every comment is taken as it
    seed: int = 2025
    currency: str = ""  # printed after money amounts, e.g. "EUR"; "" prints bare amounts
    earliest: str = "1990-01-01"  # timestamps before this are placeholders and rejected
    driver_controls: tuple[str, ...] | None = None  # None: the customers' attributes the data holds
    journey_by: str | None = None  # None: the first segment column with a few groups
    compare: tuple[tuple[str, str], ...] | None = None  # (kpi, segment column) pairs; None: from the data
    baseline_months: int = 3
    monitor: dict = field(default_factory=dict)
    engine: str = "pandas"  # where gapkit.kpis runs in the notebooks; "duckdb" or "polars" for large data
    columns: _mapping.Columns = ()  # (table, contract column, the source's name for it); see gapkit.load
    source: str = ""

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def out_dir(self) -> str:
        return self.out or f"reports/{self.as_of}"

    def to_dict(self) -> dict:
        """Plain values, for papermill parameters and run.json (a database URL without its password)."""
        return {
            "data": redact(self.data),
            "as_of": self.as_of,
            "out": self.out_dir,
            "segments": None if self.segments is None else list(self.segments),
            "params": {k: v for k, v in dataclasses.asdict(self.params).items() if k != "business_hours"},
            "business_hours": None if self.params.business_hours is None else self.params.business_hours.to_config(),
            "goals": [dataclasses.asdict(g) for g in self.goals],
            "impact": {"kpis": list(self.impact_kpis)},
            "valuation": [dict(v) for v in self.valuation],
            "intangibles": [dict(v) for v in self.intangibles],
            "benchmarks": [dict(v) for v in self.benchmarks],
            "language": self.language,
            "seed": self.seed,
            "currency": self.currency,
            "earliest": self.earliest,
            "drivers": {"controls": None if self.driver_controls is None else list(self.driver_controls)},
            "journey": {"by": self.journey_by},
            "compare": None if self.compare is None else [list(pair) for pair in self.compare],
            "baseline_months": self.baseline_months,
            "monitor": dict(self.monitor),
            "engine": self.engine,
            "columns": _mapping.as_dict(self.columns),
        }


def read(path: str | Path | None = None, **overrides) -> Config:
    """Read ``gapkit.yml`` (or defaults when ``path`` is None) and apply non-None ``overrides``."""
    raw: dict = {}
    source = ""
    if path is not None:
        file = Path(path)
        raw = load_file(file) or {}  # strict YAML: no silent yes/no, 007, duplicate keys or alias bombs
        if not isinstance(raw, dict):
            raise ConfigError(f"{file}: expected a mapping of keys (data, as_of, goals, ...) at the top.")
        source = str(file)
    if overrides.get("as_of") is not None:
        overrides["as_of"] = parse_date(overrides["as_of"], "as_of")
    return from_dict(raw, source=source).replace(**overrides)


#: The keys of gapkit.yml (README, Configuration; contract section 3).
KEYS = ("data", "as_of", "out", "segments", "params", "goals", "impact", "valuation", "intangibles", "benchmarks",
        "language", "seed", "drivers", "journey", "compare", "baseline_months", "monitor", "currency", "earliest",
        "business_hours", "engine", "columns")


def from_dict(raw: dict, source: str = "") -> Config:
    """A :class:`Config` from plain values (a read ``gapkit.yml``), every key checked; see ``read``."""
    where = source or "config"
    unknown = sorted(text_of(key) for key in raw if key not in KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}{did_you_mean(unknown[0], KEYS)}; "
                          f"known keys: {sorted(KEYS)}.")
    params = _params(raw.get("params"), f"{where}: params")
    if raw.get("business_hours") is not None:
        days = raw["business_hours"].get("days", []) if isinstance(raw["business_hours"], dict) else []
        if not isinstance(days, (str, list)):  # the schedule's own check expects a list or one day
            raise ConfigError(f"{where}: business_hours.days = {days!r}: list the open days, e.g. [Mon, Tue, Wed].")
        schedule = BusinessHours.from_config(raw["business_hours"], f"{where}: business_hours")
        params = dataclasses.replace(params, business_hours=schedule)
    impact_kpis = _impact_kpis(raw.get("impact"), f"{where}: impact")
    goals = tuple(_goal(g, i, where) for i, g in enumerate(as_list(raw.get("goals"), f"{where}: goals")))
    valuation = tuple(valuation_entry(v, i, where) for i, v in enumerate(as_list(raw.get("valuation"),
                                                                              f"{where}: valuation")))
    for index, entry in enumerate(valuation):
        _check_kpi(entry["kpi"], f"{where}: valuation[{index}].kpi")
        if entry["kpi"] not in impact_kpis:
            raise ConfigError(f"{where}: valuation[{index}].kpi is {entry['kpi']!r}, which impact.kpis "
                              f"({', '.join(impact_kpis)}) does not measure, so its value could never be "
                              f"computed; add {entry['kpi']!r} to impact.kpis or value one of those KPIs.")
    seen: dict[str, int] = {}
    for index, goal in enumerate(goals):
        if goal.id in seen:
            raise ConfigError(f"{where}: goals[{seen[goal.id]}] and goals[{index}] share the id {goal.id!r}; give "
                              f"each goal its own id (milestones and gaps are kept per id).")
        seen[goal.id] = index
    drivers = as_mapping(raw.get("drivers"), f"{where}: drivers", {"controls"})
    journey = as_mapping(raw.get("journey"), f"{where}: journey", {"by"})
    return Config(
        data=as_text(raw.get("data"), f"{where}: data", Config.data),
        as_of=None if raw.get("as_of") is None else parse_date(raw["as_of"], f"{where}: as_of"),
        out=as_text(raw.get("out"), f"{where}: out") or None,
        segments=as_columns(raw.get("segments"), f"{where}: segments"),
        params=params,
        goals=goals,
        impact_kpis=impact_kpis,
        valuation=valuation,
        intangibles=tuple(_intangible(v, i, where) for i, v in enumerate(as_list(raw.get("intangibles"),
                                                                                  f"{where}: intangibles"))),
        benchmarks=tuple(_benchmark(b, i, where) for i, b in enumerate(as_list(raw.get("benchmarks"),
                                                                               f"{where}: benchmarks"))),
        language=_language(raw.get("language"), f"{where}: language"),
        seed=_seed(raw.get("seed", Config.seed), f"{where}: seed"),
        earliest=parse_date(raw.get("earliest", Config.earliest), f"{where}: earliest"),
        currency=_currency(raw.get("currency"), f"{where}: currency"),
        driver_controls=as_columns(drivers.get("controls"), f"{where}: drivers.controls"),
        journey_by=as_text(journey.get("by"), f"{where}: journey.by"),
        compare=_compare(raw.get("compare"), f"{where}: compare"),
        baseline_months=_whole(raw.get("baseline_months", Config.baseline_months), f"{where}: baseline_months"),
        monitor=_monitor(raw.get("monitor"), f"{where}: monitor"),
        engine=_engine(raw.get("engine", Config.engine), f"{where}: engine"),
        columns=_mapping.check(raw.get("columns"), f"{where}: columns"),
        source=source,
    )


def _impact_kpis(value, label: str) -> tuple[str, ...]:
    """``impact.kpis``; left out, :attr:`Config.impact_kpis`. An empty list is refused, not read as the
    defaults: without an interventions table the impact step is skipped anyway, and saying so is honest."""
    impact = as_mapping(value, label, {"kpis"})
    kpis = as_columns(impact.get("kpis"), f"{label}.kpis")
    if kpis == ():
        raise ConfigError(f"{label}.kpis is empty; list the KPIs each intervention is measured on, e.g. "
                          f"[csat, repeat_purchase_rate], or leave impact out for those two (without an "
                          f"interventions table the impact step is skipped and says why).")
    for kpi in kpis or ():
        _check_kpi(kpi, f"{label}.kpis")
    return kpis or Config.impact_kpis


#: What ``language`` may say: VADER, which scores the comments, reads English only.
LANGUAGES = ("en",)


def _language(value, label: str) -> str | None:
    if value is None:  # each comment's language is detected; the English ones are scored
        return None
    word = as_text(value, label).strip().lower()
    if word not in LANGUAGES:
        raise ConfigError(f"{label} is {text_of(value)!r}; supported: {', '.join(LANGUAGES)} (every comment is "
                          f"scored as English; VADER reads English only). Leave language out to detect each "
                          f"comment's language, score the English ones and count the others as not scored.")
    return word


def _engine(value, label: str) -> str:
    word = value.strip().lower() if isinstance(value, str) else value  # "DuckDB" is meant as duckdb
    if word in ENGINES:
        return word
    raise ConfigError(f"{label} is {value!r}{did_you_mean(str(value).lower(), ENGINES)}; write pandas (the "
                      f"default), duckdb or polars (faster from about 100,000 orders), or spark (the KPI table and "
                      f"current levels in a Spark session, see docs/scale.md); the KPIs are the same.")


#: Where a run computes its KPI table and current levels (the configuration's ``engine``).
ENGINES = ("pandas", "duckdb", "polars", "spark")


def _currency(value, label: str) -> str:
    """A short currency code or symbol (EUR, USD, £); it is printed after every amount."""
    text = "" if value is None else as_text(value, label).strip()
    if not text:  # none given: amounts are printed bare
        return ""
    if not len(text) <= 5 or not all(ch.isalpha() or ch in "$€£¥₹₩₽₺" for ch in text):
        raise ConfigError(f"{label}: {value!r} is not a currency; give a code such as EUR or USD, or a symbol "
                          f"such as €.")
    return text


#: The monitor rules' ranges (low, high) and what to write; false_alarm excludes both ends, sigma 0.
MONITOR_RANGES = {
    "months": (1, 120, "a whole number of recent months to check, 1 to 120"),
    "baseline_min_months": (1, 120, "a whole number of months the baseline needs at least, 1 to 120"),
    "false_alarm": (0, 1, "a probability between 0 and 1, e.g. 0.05"),
    "sigma": (0, 10, "a positive number of standard deviations, at most 10, e.g. 3"),
    "churn_days": (1, 3650, "the days without an order after which a customer counts as lost, 1 to 3,650, e.g. 180"),
}


def _monitor(value, label: str) -> dict:
    """The alert rules and churn window (gapkit.monitor.MONITOR_DEFAULTS), each in :data:`MONITOR_RANGES`."""
    rules = as_mapping(value, label, set(MONITOR_DEFAULTS))
    for key, given in rules.items():
        number = as_number(given, f"{label}: {key}")
        low, high, fix = MONITOR_RANGES[key]
        inside = {"false_alarm": low < number < high, "sigma": low < number <= high}.get(key, low <= number <= high)
        whole = key.endswith("months")
        if not inside or (whole and number != int(number)):
            raise ConfigError(f"{label}: {key} = {text_of(given)}: give {fix} (default {MONITOR_DEFAULTS[key]}).")
        rules[key] = int(number) if whole else number
    return rules


def _compare(value, label: str) -> tuple[tuple[str, str], ...] | None:
    """``compare: [{kpi: csat, by: region}, ...]`` or ``[[csat, region], ...]``."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise ConfigError(f"{label}: expected a list of {{kpi: ..., by: ...}} pairs; got {value!r}.")
    pairs = []
    for index, item in enumerate(value):
        if isinstance(item, dict) and set(item) == {"kpi", "by"}:
            kpi, by = item["kpi"], item["by"]
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            kpi, by = item
        else:
            raise ConfigError(f"{label}[{index}]: expected {{kpi: csat, by: region}}; got {item!r}.")
        _check_kpi(kpi, f"{label}[{index}].kpi")
        pairs.append((kpi, as_text(by, f"{label}[{index}].by", "")))
    return tuple(pairs)


#: A current level is the mean of at most this many recent months (five years).
MAX_BASELINE_MONTHS = 60


def _whole(value, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BASELINE_MONTHS:
        raise ConfigError(f"{label}: expected a whole number of months >= 1 (at most {MAX_BASELINE_MONTHS}, "
                          f"five years; default 3); got {text_of(value) if isinstance(value, int) else repr(value)}.")
    return int(value)


def _goal(raw: dict, index: int, where: str) -> Goal:
    label = f"{where}: goals[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{label}: expected a mapping with id, kpi, target, deadline.")
    missing = [k for k in ("kpi", "target", "deadline") if k not in raw]
    if missing:
        raise ConfigError(f"{label}: missing {missing}; a goal needs kpi, target and deadline.")
    _check_kpi(raw["kpi"], f"{label}.kpi")
    target = _kpi_value(raw["kpi"], raw["target"], f"{label}.target")
    segment_by = as_text(raw.get("segment_by"), f"{label}.segment_by", "all")
    segment = as_text(raw.get("segment"), f"{label}.segment", "all")
    if (segment_by == "all") != (segment == "all"):
        raise ConfigError(f"{label}: give both segment_by and segment, or neither (everyone).")
    return Goal(
        id=as_text(raw.get("id"), f"{label}.id", "") or f"{raw['kpi']}-{segment}",
        kpi=raw["kpi"],
        target=target,
        deadline=parse_date(raw["deadline"], f"{label}.deadline"),
        segment_by=segment_by,
        segment=segment,
    )


def _benchmark(raw: dict, index: int, where: str) -> dict:
    label = f"{where}: benchmarks[{index}]"
    if not isinstance(raw, dict) or "kpi" not in raw or "value" not in raw:
        raise ConfigError(f"{label}: expected a mapping with kpi, value and (optionally) source.")
    _check_kpi(raw["kpi"], f"{label}.kpi")
    return {"kpi": raw["kpi"], "value": _kpi_value(raw["kpi"], raw["value"], f"{label}.value"),
            "source": as_text(raw.get("source"), f"{label}.source", "user supplied")}


def _kpi_value(kpi: str, value, label: str) -> float:
    """A target or benchmark inside the KPI's possible range (a share in 0..1, NPS in -100..100)."""
    number = as_number(value, label)
    low, high = bounds(kpi)
    if not low <= number <= high:
        unit = KPIS[kpi].unit
        shown = "0..1 (write 80% as 0.80)" if unit == "share" else f"{low:g}..{high:g}"
        raise ConfigError(f"{label} = {text_of(value)}: {kpi} ({unit}) lies in {shown}.")
    return number


def _check_kpi(kpi, label: str) -> None:
    if not isinstance(kpi, str) or kpi not in KPIS:
        shown = text_of(kpi) if kpi is not None else kpi
        raise ConfigError(f"{label}: unknown KPI {shown!r}{did_you_mean(str(shown), KPIS)}; known: {', '.join(KPIS)}.")


#: Seeds numpy takes from any of its generators (non-negative, below 2**32).
MAX_SEED = 2**32 - 1


def _seed(value, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{label}: {value!r} is not a whole number; write e.g. 2025.")
    if not 0 <= value <= MAX_SEED:
        raise ConfigError(f"{label} = {text_of(value)}: give a whole number from 0 to {MAX_SEED:,} (numpy's seeds), "
                          f"e.g. 2025.")
    return int(value)


#: Windows up to ten years: longer is no follow-up window, and a date that far out overflows.
MAX_WINDOW = {"days": 3650, "hours": 87600}


def _params(value, label: str) -> Params:
    """KPI windows: known names, positive numbers (a window of 0 days counts nothing), ten years at most."""
    # the schedule of the *_bh KPIs has its own top-level key, business_hours
    value = as_mapping(value, label, set(Params.__dataclass_fields__) - {"business_hours"})
    checked = {}
    for name, number in value.items():
        checked[name] = as_number(number, f"{label}.{name}")
        unit = name.rsplit("_", 1)[-1]
        if not 0 < checked[name] <= MAX_WINDOW[unit]:
            raise ConfigError(f"{label}.{name} = {text_of(number)}: a window must be longer than 0 and at most "
                              f"{MAX_WINDOW[unit]:,} {unit}, ten years (default {getattr(Params, name):g}).")
    return Params(**checked)


INTANGIBLE_KEYS = ("intervention_id", "factor", "score", "weight", "note")
_INTANGIBLE = "; e.g. {intervention_id: checkin, factor: brand warmth, score: 2, weight: 1, note: ...}"


def _intangible(value, index: int, where: str) -> dict:
    """One ``intangibles`` entry, checked now so a bad one cannot drop the cost-benefit later."""
    label = f"{where}: intangibles[{index}]"
    entry = as_mapping(value, label, INTANGIBLE_KEYS, _INTANGIBLE)
    missing = [key for key in INTANGIBLE_KEYS[:3] if entry.get(key) is None]
    if missing:
        raise ConfigError(f"{label}: missing {missing}; give intervention_id, factor and score (-2 harms .. "
                          f"+2 helps){_INTANGIBLE}.")
    return {"intervention_id": as_text(entry["intervention_id"], f"{label}.intervention_id"),
            "factor": as_text(entry["factor"], f"{label}.factor"),
            "score": as_ranged(entry["score"], f"{label}.score", -2, 2, "-2 harms .. +2 helps"),
            "weight": as_ranged(entry.get("weight", 1), f"{label}.weight", 0, 100, "relative weight, default 1"),
            "note": as_text(entry.get("note"), f"{label}.note", "")}


#: What a valuation entry assumes when it does not say: a year of benefit (not the strategy's
#: whole life: a conservative horizon) discounted at 10% a year (a common hurdle rate).
VALUATION_DEFAULTS = {"horizon_months": 12, "discount_rate": 0.10}
#: The keys of a valuation entry, and the ranges of its numbers: fifty years of months, an annual
#: rate from -50% to 100% (10% is 0.10, not 10), at most a billion per unit.
VALUATION_KEYS = ("intervention_id", "kpi", "value_per_unit", "horizon_months", "discount_rate")
MAX_HORIZON_MONTHS = 600
DISCOUNT_RATES = (-0.5, 1.0)
MAX_VALUE_PER_UNIT = 1e9


def valuation_entry(value, index: int, where: str = "") -> dict:
    """One ``valuation`` entry, checked and typed: what a change of a KPI is worth, and for how long.

    ``horizon_months`` and ``discount_rate`` default to :data:`VALUATION_DEFAULTS` (12 months, 10%).

    The configuration and :func:`gapkit.money.cost_benefit` both read entries through this.
    """
    label = f"{where}: valuation[{index}]" if where else f"valuation[{index}]"
    given = as_mapping(value, label, VALUATION_KEYS)
    entry = {**VALUATION_DEFAULTS, **{k: v for k, v in given.items() if v is not None}}
    needed = ["intervention_id", "kpi", "value_per_unit"]
    missing = [k for k in needed if k not in entry]
    if missing:
        raise ConfigError(f"{label}: missing {missing}; each entry needs {needed}.")
    worth = as_ranged(entry["value_per_unit"], f"{label}.value_per_unit", -MAX_VALUE_PER_UNIT, MAX_VALUE_PER_UNIT,
                      "money per unit per 1.0 of the KPI; negative for a lower-is-better KPI")
    horizon = as_number(entry["horizon_months"], f"{label}.horizon_months")
    if not 1 <= horizon <= MAX_HORIZON_MONTHS or horizon != int(horizon):
        raise ConfigError(f"{label}.horizon_months = {text_of(entry['horizon_months'])}: give whole months >= 1 and at "
                          f"most {MAX_HORIZON_MONTHS} (fifty years; default 12).")
    rate = as_ranged(entry["discount_rate"], f"{label}.discount_rate", *DISCOUNT_RATES,
                     "an annual rate: write 10% as 0.10")
    return {"intervention_id": as_text(entry["intervention_id"], f"{label}.intervention_id"), "kpi": entry["kpi"],
            "value_per_unit": worth, "horizon_months": int(horizon), "discount_rate": rate}
