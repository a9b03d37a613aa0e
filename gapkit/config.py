"""The run configuration (``gapkit.yml``): every key optional, command-line flags override it.

Examples
--------
>>> config = gapkit.config.read(gapkit.datasets.sample_config().source, as_of="2025-06-30")
>>> config.goals[0].kpi
'followup_coverage'
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

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
        target = _number(self.target, f"{label}: target")
        low, high = bounds(self.kpi)
        if not low <= target <= high:
            unit = KPIS[self.kpi].unit
            shown = "0..1 (write 80% as 0.80)" if unit == "share" else f"{low:g}..{high:g}"
            raise ConfigError(f"{label}: target = {self.target!r}: {self.kpi} ({unit}) lies in {shown}.")
        if (str(self.segment_by) == "all") != (str(self.segment) == "all"):
            raise ConfigError(f"{label}: give both segment_by and segment, or neither (everyone).")
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "deadline", parse_date(self.deadline, f"{label}: deadline"))
        object.__setattr__(self, "segment_by", str(self.segment_by))
        object.__setattr__(self, "segment", str(self.segment))


@dataclass(frozen=True)
class Config:
    """Everything a run needs; see README "Configuration" for each key."""

    data: str = "data/sample"
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
    engine: str = "pandas"  # where gapkit.kpis runs in the notebooks; "duckdb" for large data
    source: str = ""

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def out_dir(self) -> str:
        return self.out or f"reports/{self.as_of}"

    def to_dict(self) -> dict:
        """Plain values, for papermill parameters and run.json."""
        return {
            "data": self.data,
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
        }


def read(path: str | Path | None = None, **overrides) -> Config:
    """Read ``gapkit.yml`` (or defaults when ``path`` is None) and apply non-None ``overrides``."""
    raw: dict = {}
    source = ""
    if path is not None:
        file = Path(path)
        if not file.exists():
            raise ConfigError(f"{file}: no such config file. Create it (see README) or drop --config.")
        try:
            raw = yaml.load(file.read_text(encoding="utf-8"), Loader=_TextDates) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{file}: not valid YAML ({err}).") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{file}: not UTF-8 text; save the configuration as UTF-8.") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{file}: expected a mapping of keys (data, as_of, goals, ...) at the top.")
        source = str(file)
    if overrides.get("as_of") is not None:
        overrides["as_of"] = parse_date(overrides["as_of"], "as_of")
    return from_dict(raw, source=source).replace(**overrides)


class _TextDates(yaml.SafeLoader):
    """YAML without its date conversion: dates stay text and :func:`parse_date` names a bad one's key."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def from_dict(raw: dict, source: str = "") -> Config:
    where = source or "config"
    known = {"data", "as_of", "out", "segments", "params", "goals", "impact", "valuation", "intangibles",
             "benchmarks", "language", "seed", "drivers", "journey", "compare", "baseline_months", "monitor",
             "currency", "earliest", "business_hours", "engine"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}{did_you_mean(unknown[0], known)}; "
                          f"known keys: {sorted(known)}.")
    params = _params(raw.get("params"), f"{where}: params")
    if raw.get("business_hours") is not None:
        schedule = BusinessHours.from_config(raw["business_hours"], f"{where}: business_hours")
        params = dataclasses.replace(params, business_hours=schedule)
    impact = _mapping(raw.get("impact"), f"{where}: impact", {"kpis"})
    impact_kpis = tuple(_columns(impact.get("kpis"), f"{where}: impact.kpis") or Config.impact_kpis)
    for kpi in impact_kpis:
        _check_kpi(kpi, f"{where}: impact.kpis")
    goals = tuple(_goal(g, i, where) for i, g in enumerate(_list(raw.get("goals"), f"{where}: goals")))
    valuation = tuple(valuation_entry(v, i, where) for i, v in enumerate(_list(raw.get("valuation"),
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
    drivers = _mapping(raw.get("drivers"), f"{where}: drivers", {"controls"})
    journey = _mapping(raw.get("journey"), f"{where}: journey", {"by"})
    return Config(
        data=str(raw.get("data", Config.data)),
        as_of=None if raw.get("as_of") is None else parse_date(raw["as_of"], f"{where}: as_of"),
        out=raw.get("out"),
        segments=_columns(raw.get("segments"), f"{where}: segments"),
        params=params,
        goals=goals,
        impact_kpis=impact_kpis,
        valuation=valuation,
        intangibles=tuple(_entry(v, i, f"{where}: intangibles") for i, v in enumerate(
            _list(raw.get("intangibles"), f"{where}: intangibles"))),
        benchmarks=tuple(_benchmark(b, i, where) for i, b in enumerate(_list(raw.get("benchmarks"),
                                                                             f"{where}: benchmarks"))),
        language=None if raw.get("language") is None else str(raw["language"]).strip().lower(),
        seed=_seed(raw.get("seed", Config.seed), f"{where}: seed"),
        earliest=parse_date(raw.get("earliest", Config.earliest), f"{where}: earliest"),
        currency=_currency(raw.get("currency"), f"{where}: currency"),
        driver_controls=_columns(drivers.get("controls"), f"{where}: drivers.controls"),
        journey_by=None if journey.get("by") is None else str(journey["by"]),
        compare=_compare(raw.get("compare"), f"{where}: compare"),
        baseline_months=_whole(raw.get("baseline_months", Config.baseline_months), f"{where}: baseline_months"),
        monitor=_monitor(raw.get("monitor"), f"{where}: monitor"),
        engine=_engine(raw.get("engine", Config.engine), f"{where}: engine"),
        source=source,
    )


def _engine(value, label: str) -> str:
    word = value.strip().lower() if isinstance(value, str) else value  # "DuckDB" is meant as duckdb
    if word in ("pandas", "duckdb"):
        return word
    if word == "spark":
        # a run reads its tables from a folder, which the local engines read faster than a cluster
        raise ConfigError(f"{label} is {value!r}; gapkit run computes on pandas or duckdb. Spark runs from "
                          f"Python on Spark tables: gapkit.kpis(tables, as_of=..., engine=\"spark\"), "
                          f"see docs/scale.md.")
    raise ConfigError(f"{label} is {value!r}{did_you_mean(str(value).lower(), ('pandas', 'duckdb'))}; write "
                      f"pandas (the default) or duckdb (faster from about 100,000 orders; the KPIs are the same).")


def _currency(value, label: str) -> str:
    """A short currency code or symbol (EUR, USD, £); it is printed after every amount."""
    text = "" if value is None else str(value).strip()
    if not text:  # none given: amounts are printed bare
        return ""
    if not len(text) <= 5 or not all(ch.isalpha() or ch in "$€£¥₹₩₽₺" for ch in text):
        raise ConfigError(f"{label}: {value!r} is not a currency; give a code such as EUR or USD, or a symbol "
                          f"such as €.")
    return text


def _monitor(value, label: str) -> dict:
    """The alert rules and churn window (gapkit.monitor.MONITOR_DEFAULTS): whole months, a rate in
    (0, 1), sigma > 0, churn_days >= 1."""

    rules = _mapping(value, label, set(MONITOR_DEFAULTS))
    for key, number in rules.items():
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise ConfigError(f"{label}: {key} = {number!r} is not a number (default {MONITOR_DEFAULTS[key]}).")
        if key in ("months", "baseline_min_months") and (number != int(number) or number < 1):
            raise ConfigError(f"{label}: {key} = {number!r}: give a whole number of months, at least 1.")
        if key == "false_alarm" and not 0 < number < 1:
            raise ConfigError(f"{label}: false_alarm = {number!r}: give a probability between 0 and 1, e.g. 0.05.")
        if key == "sigma" and number <= 0:
            raise ConfigError(f"{label}: sigma = {number!r}: give a positive number of standard deviations, e.g. 3.")
        if key == "churn_days" and number < 1:
            raise ConfigError(f"{label}: churn_days = {number!r}: give the days without an order after which a "
                              f"customer counts as lost, e.g. 180.")
    return rules


def _mapping(value, label: str, keys: set | None) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: expected a mapping (key: value lines), got {value!r}.")
    unknown = sorted(set(value) - keys) if keys is not None else []
    if unknown:
        raise ConfigError(f"{label}: unknown key(s) {unknown}; known: {sorted(keys)}.")
    return dict(value)


def _columns(value, label: str) -> tuple[str, ...] | None:
    """A list of column names; one name alone is a list of one (not split into letters)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, int)) for v in value):
        raise ConfigError(f"{label}: expected a list of column names, e.g. [region, channel]; got {value!r}.")
    return tuple(str(v) for v in value)


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
        pairs.append((str(kpi), str(by)))
    return tuple(pairs)


def _whole(value, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{label}: expected a whole number of months >= 1; got {value!r}.")
    return value


def _goal(raw: dict, index: int, where: str) -> Goal:
    label = f"{where}: goals[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{label}: expected a mapping with id, kpi, target, deadline.")
    missing = [k for k in ("kpi", "target", "deadline") if k not in raw]
    if missing:
        raise ConfigError(f"{label}: missing {missing}; a goal needs kpi, target and deadline.")
    _check_kpi(raw["kpi"], f"{label}.kpi")
    target = _number(raw["target"], f"{label}.target")
    low, high = bounds(raw["kpi"])
    if not low <= target <= high:
        unit = KPIS[raw["kpi"]].unit
        shown = "0..1 (write 80% as 0.80)" if unit == "share" else f"{low:g}..{high:g}"
        raise ConfigError(f"{label}.target = {raw['target']!r}: {raw['kpi']} ({unit}) lies in {shown}.")
    segment_by = str(raw.get("segment_by", "all"))
    segment = str(raw.get("segment", "all"))
    if (segment_by == "all") != (segment == "all"):
        raise ConfigError(f"{label}: give both segment_by and segment, or neither (everyone).")
    return Goal(
        id=str(raw.get("id") or f"{raw['kpi']}-{segment}"),
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
    return {"kpi": raw["kpi"], "value": _number(raw["value"], f"{label}.value"),
            "source": str(raw.get("source", "user supplied"))}


def _check_kpi(kpi, label: str) -> None:
    if not isinstance(kpi, str) or kpi not in KPIS:
        raise ConfigError(f"{label}: unknown KPI {kpi!r}{did_you_mean(str(kpi), KPIS)}; known: {', '.join(KPIS)}.")


def _number(value, label: str) -> float:
    """A finite number (YAML's .nan and .inf, text and true/false are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{label}: {value!r} is not a number; write e.g. 0.8 or 24.")
    return float(value)


def _seed(value, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{label}: {value!r} is not a whole number; write e.g. 2025.")
    return value


def _list(value, label: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{label}: expected a list (lines starting with '- '); got {value!r}.")
    return value


def _entry(value, index: int, label: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{label}[{index}]: expected a mapping (key: value lines); got {value!r}.")
    return dict(value)


def _params(value, label: str) -> Params:
    """KPI windows: known names, positive numbers (a window of 0 days counts nothing)."""
    # the schedule of the *_bh KPIs has its own top-level key, business_hours
    value = _mapping(value, label, set(Params.__dataclass_fields__) - {"business_hours"})
    checked = {}
    for name, number in value.items():
        checked[name] = _number(number, f"{label}.{name}")
        if checked[name] <= 0:
            raise ConfigError(f"{label}.{name} = {number!r}: a window must be longer than 0 "
                              f"(default {getattr(Params, name):g}).")
    return Params(**checked)


#: What a valuation entry assumes when it does not say: a year of benefit (not the strategy's
#: whole life: a conservative horizon) discounted at 10% a year (a common hurdle rate).
VALUATION_DEFAULTS = {"horizon_months": 12, "discount_rate": 0.10}


def valuation_entry(value, index: int, where: str = "") -> dict:
    """One ``valuation`` entry, checked and typed: what a change of a KPI is worth, and for how long.

    ``horizon_months`` and ``discount_rate`` default to :data:`VALUATION_DEFAULTS` (12 months, 10%).

    The configuration and :func:`gapkit.money.cost_benefit` both read entries through this.
    """
    label = f"{where}: valuation[{index}]" if where else f"valuation[{index}]"
    entry = {**VALUATION_DEFAULTS, **_entry(value, index, f"{where}: valuation" if where else "valuation")}
    needed = ["intervention_id", "kpi", "value_per_unit"]
    missing = [k for k in needed if k not in entry]
    if missing:
        raise ConfigError(f"{label}: missing {missing}; each entry needs {needed}.")
    _number(entry["value_per_unit"], f"{label}.value_per_unit")
    horizon = _number(entry["horizon_months"], f"{label}.horizon_months")
    if horizon < 1 or horizon != int(horizon):
        raise ConfigError(f"{label}.horizon_months = {entry['horizon_months']!r}: give whole months >= 1.")
    rate = _number(entry["discount_rate"], f"{label}.discount_rate")
    if rate <= -1:
        raise ConfigError(f"{label}.discount_rate = {entry['discount_rate']!r}: an annual rate such as 0.10 (10%).")
    return {**entry, "intervention_id": str(entry["intervention_id"]), "kpi": entry["kpi"],
            "value_per_unit": float(entry["value_per_unit"]), "horizon_months": int(horizon), "discount_rate": rate}
