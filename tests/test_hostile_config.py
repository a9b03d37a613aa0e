"""Hostile configuration (issue "Hostile input 2", item 6): a gapkit.yml that would exhaust memory or
be silently reinterpreted is refused when it is read, with a ConfigError naming the key, the value
and the fix; a name is kept as the file writes it; ordinary configurations still load."""

import json
import time
from pathlib import Path

import pytest

import gapkit
from gapkit import cli
from gapkit.config import from_dict, read
from gapkit.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
VALUE = "{intervention_id: x, kpi: csat, value_per_unit: 1"
VALUED = "impact: {kpis: [csat]}\nvaluation: [{intervention_id: x, kpi: csat"
INTANGIBLE = "intangibles: [{intervention_id: x, factor: trust"


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """An intangibles note of ``a: &a [lol, ...]``, ``b: &b [*a, *a, ...]``, ...: width ** levels strings
    from a few hundred bytes (the hunt's 732-byte file became a 34.6 MB run.json)."""
    lines = [f"      a: &a [{', '.join(['lol'] * width)}]"]
    for previous, name in zip("abcdefghijkl", "bcdefghijklm"[: levels - 1]):
        lines.append(f"      {name}: &{name} [{', '.join([f'*{previous}'] * width)}]")
    return "intangibles:\n  - intervention_id: x\n    factor: trust\n    score: 1\n    note:\n" + "\n".join(lines)


#: hostile text -> parts the error message must hold (the key and value, then the fix)
HOSTILE = {
    "horizon of a hundred million months": (f"{VALUED}, value_per_unit: 1, horizon_months: 100000000}}]",
                                            ["valuation[0].horizon_months = 100000000", "at most 600"]),
    "negative horizon": (f"impact: {{kpis: [csat]}}\nvaluation: [{VALUE}, horizon_months: -3}}]",
                         ["valuation[0].horizon_months = -3", "whole months >= 1"]),
    "value per unit 1e300": (f"{VALUED}, value_per_unit: 1e300}}]",
                             ["valuation[0].value_per_unit = 1e300", "from -1,000,000,000 to 1,000,000,000"]),
    "discount rate as a percent": (f"impact: {{kpis: [csat]}}\nvaluation: [{VALUE}, discount_rate: 10}}]",
                                   ["valuation[0].discount_rate = 10", "write 10% as 0.10"]),
    "valuation key typo": (f"impact: {{kpis: [csat]}}\nvaluation: [{VALUE}, horizon_month: 24}}]",
                           ["valuation[0]: unknown key(s) ['horizon_month']", "did you mean 'horizon_months'"]),
    "seed -1": ("seed: -1", ["seed = -1", "from 0 to 4,294,967,295"]),
    "seed 2**40": ("seed: 1099511627776", ["seed = 1099511627776", "from 0 to 4,294,967,295"]),
    "seed yes": ("seed: yes", ["seed", "'yes' is not a whole number", "e.g. 2025"]),
    "seed in hex": ("seed: 0x10", ["seed", "'0x10' is not a whole number"]),
    "out a list": ("out: [a, b]", ["out: expected one name or text", "write it on one line"]),
    "out a mapping": ("out: {a: 1}", ["out: expected one name or text"]),
    "language de": ("language: de", ["language is 'de'", "supported: en", "Leave language out"]),
    "language NO": ("language: NO", ["language is 'NO'", "supported: en"]),
    "impact kpis empty": ("impact: {kpis: []}", ["impact.kpis is empty", "leave impact out"]),
    "intangible score 5": (f"{INTANGIBLE}, score: 5}}]", ["intangibles[0].score = 5", "from -2 to 2", "+2 helps"]),
    "intangible without score": (f"{INTANGIBLE}}}]", ["intangibles[0]: missing ['score']", "give intervention_id"]),
    "intangible key typo": (f"{INTANGIBLE}, scroe: 1}}]", ["intangibles[0]: unknown key(s) ['scroe']",
                                                           "did you mean 'score'"]),
    "intangible weight -1": (f"{INTANGIBLE}, score: 1, weight: -1}}]", ["intangibles[0].weight = -1", "0 to 100"]),
    "intangible score text": (f"{INTANGIBLE}, score: high}}]", ["intangibles[0].score", "'high' is not a number"]),
    "intangible as text": ("intangibles: [trust]", ["intangibles[0]: expected a mapping", "e.g. {intervention_id"]),
    "intangible note a list": (f"{INTANGIBLE}, score: 1, note: [a, b]}}]", ["intangibles[0].note: expected one name"]),
    "SLA of 1e12 hours": ("params: {sla_hours: 1e12}", ["params.sla_hours = 1e12", "at most 87,600 hours"]),
    "repeat window of 100000 days": ("params: {repeat_days: 100000}", ["params.repeat_days = 100000",
                                                                       "at most 3,650 days"]),
    "SLA written 1:30": ("params: {sla_hours: 1:30}", ["params.sla_hours", "'1:30' is not a number"]),
    "baseline of 100000 months": ("baseline_months: 100000", ["baseline_months", "at most 60", "got 100000"]),
    "monitor months 10000": ("monitor: {months: 10000}", ["monitor: months = 10000", "1 to 120"]),
    "monitor baseline 0": ("monitor: {baseline_min_months: 0}", ["monitor: baseline_min_months = 0", "1 to 120"]),
    "monitor sigma 1000": ("monitor: {sigma: 1000}", ["monitor: sigma = 1000", "at most 10"]),
    "monitor churn 1e9 days": ("monitor: {churn_days: 1e9}", ["monitor: churn_days = 1e9", "1 to 3,650"]),
    "benchmark 80 for a share": ("benchmarks: [{kpi: csat, value: 80}]", ["benchmarks[0].value = 80",
                                                                          "write 80% as 0.80"]),
    "duplicate top-level key": ("data: a\nseed: 1\ndata: b", ["key 'data' is written twice", "lines 1 and 3",
                                                              "Keep one"]),
    "duplicate key in a goal": ("goals:\n  - id: a\n    kpi: csat\n    target: 0.8\n    deadline: 2025-12-31\n"
                                "    target: 0.9", ["key 'target' is written twice", "lines 4 and 6"]),
    "billion laughs": (billion_laughs(), ["aliases (*name) expand", "write the values out"]),
    "recursive alias": ("segments: &a [region, *a]", ["alias *a refers to the list or mapping that holds it"]),
    "nested 30 deep": ("segments: " + "[" * 30 + "]" * 30, ["nested more than 20 deep"]),
    "two documents": ("seed: 1\n---\nseed: 2", ["not valid YAML", "single document"]),
    "explicit bad tag": ("as_of: !!timestamp soon", ["not valid YAML"]),
    "a NUL character": ("seed: 1\x00", ["not valid YAML", "#x0000"]),
    "days a number": ("business_hours: {days: 5}", ["business_hours.days = 5", "e.g. [Mon, Tue, Wed]"]),
    "compare by a list": ("compare: [{kpi: csat, by: [a]}]", ["compare[0].by: expected one name"]),
    "goal segment a list": ("goals: [{id: a, kpi: csat, target: 0.8, deadline: 2025-12-31, segment_by: s, "
                            "segment: [a]}]", ["goals[0].segment: expected one name"]),
    "keys of two types": ("1: x\nzz: y", ["unknown key(s) ['1', 'zz']"]),
}


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "gapkit.yml"
    path.write_text(text + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("text, parts", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_configuration_is_a_config_error_naming_key_and_fix(tmp_path, text, parts):
    path = _write(tmp_path, text)
    started = time.perf_counter()
    with pytest.raises(ConfigError) as error:
        read(path)
    message = str(error.value)
    assert message.startswith(str(path)), message
    for part in parts:
        assert part in message, message
    assert time.perf_counter() - started < 2


def test_the_billion_laughs_file_is_small_and_refused_before_it_grows(tmp_path):
    text = billion_laughs()
    assert len(text.encode()) < 800  # the measured file was 732 bytes and became a 34.6 MB run.json
    with pytest.raises(ConfigError, match="aliases"):
        read(_write(tmp_path, text))
    # a few aliases, as a person writes them, still work: an anchor and a merge key
    settings = read(_write(tmp_path, "impact: {kpis: [csat, nps]}\nvaluation:\n"
                                     "  - &v {intervention_id: a, kpi: csat, value_per_unit: 2, horizon_months: 6}\n"
                                     "  - {<<: *v, kpi: nps}\nsegments: &s [region]\ndrivers: {controls: *s}"))
    assert [v["kpi"] for v in settings.valuation] == ["csat", "nps"] and settings.valuation[1]["horizon_months"] == 6
    assert settings.driver_controls == ("region",)


#: hostile-looking text -> where it lands -> the value as written
AS_WRITTEN = {
    "segment NO (Norway)": ("goals: [{id: g, kpi: csat, target: 0.8, deadline: 2025-12-31, segment_by: country, "
                            "segment: NO}]", lambda s: s.goals[0].segment, "NO"),
    "segment on": ("goals: [{id: g, kpi: csat, target: 0.8, deadline: 2025-12-31, segment_by: s, segment: on}]",
                   lambda s: s.goals[0].segment, "on"),
    "segment 007": ("goals: [{id: g, kpi: csat, target: 0.8, deadline: 2025-12-31, segment_by: s, segment: 007}]",
                    lambda s: s.goals[0].segment, "007"),
    "segment 1.50": ("goals: [{id: g, kpi: csat, target: 0.8, deadline: 2025-12-31, segment_by: s, segment: 1.50}]",
                     lambda s: s.goals[0].segment, "1.50"),
    "goal id 007": ("goals: [{id: 007, kpi: csat, target: 0.8, deadline: 2025-12-31}]", lambda s: s.goals[0].id, "007"),
    "goal id 0": ("goals: [{id: 0, kpi: csat, target: 0.8, deadline: 2025-12-31}]", lambda s: s.goals[0].id, "0"),
    "segment_by yes": ("goals: [{id: g, kpi: csat, target: 0.8, deadline: 2025-12-31, segment_by: yes, segment: y}]",
                       lambda s: (s.goals[0].segment_by, s.goals[0].segment), ("yes", "y")),
    "segments": ("segments: [NO, on, 007, off]", lambda s: s.segments, ("NO", "on", "007", "off")),
    "driver controls": ("drivers: {controls: [y, n, 010]}", lambda s: s.driver_controls, ("y", "n", "010")),
    "journey by": ("journey: {by: 010}", lambda s: s.journey_by, "010"),
    "compare by": ("compare: [{kpi: csat, by: NO}, [nps, true]]", lambda s: s.compare,
                   (("csat", "NO"), ("nps", "true"))),
    "valuation id": ("impact: {kpis: [csat]}\nvaluation: [{intervention_id: 007, kpi: csat, value_per_unit: 1}]",
                     lambda s: s.valuation[0]["intervention_id"], "007"),
    "intangible names": ("intangibles: [{intervention_id: 0010, factor: on, score: 1, note: 1.50}]",
                         lambda s: [s.intangibles[0][k] for k in ("intervention_id", "factor", "note")],
                         ["0010", "on", "1.50"]),
    "benchmark source": ("benchmarks: [{kpi: csat, value: 0.8, source: 2024}]", lambda s: s.benchmarks[0]["source"],
                         "2024"),
    "data and out": ("data: 007\nout: 5", lambda s: (s.data, s.out), ("007", "5")),
    "currency NO": ("currency: NO", lambda s: s.currency, "NO"),
    "holidays NO (Norway)": ("business_hours: {time_zone: Europe/Oslo, holidays: NO}",
                             lambda s: s.params.business_hours.holidays, "NO"),
    "language EN": ("language: EN", lambda s: s.language, "en"),
    "numbers stay numbers": ("seed: 010\nbaseline_months: 06\nparams: {sla_hours: 1_000}",
                             lambda s: (s.seed, s.baseline_months, s.params.sla_hours), (10, 6, 1000.0)),
    "1e3 is a number": ("impact: {kpis: [csat]}\nvaluation: [{intervention_id: x, kpi: csat, value_per_unit: 1e3}]",
                        lambda s: s.valuation[0]["value_per_unit"], 1000.0),
}


@pytest.mark.parametrize("text, where, expected", list(AS_WRITTEN.values()), ids=list(AS_WRITTEN))
def test_a_name_is_kept_as_the_file_writes_it(tmp_path, text, where, expected):
    assert where(read(_write(tmp_path, text))) == expected


def test_numbers_leave_the_configuration_as_plain_python_numbers(tmp_path):
    text = (f"seed: 7\nimpact: {{kpis: [csat]}}\nvaluation: [{VALUE}, horizon_months: 24}}]\n"
            f"monitor: {{months: 2, sigma: 3}}\n{INTANGIBLE}, score: 2}}]")
    settings = read(_write(tmp_path, text))
    assert type(settings.seed) is int and type(settings.valuation[0]["horizon_months"]) is int
    assert type(settings.monitor["months"]) is int and type(settings.monitor["sigma"]) is float
    assert type(settings.intangibles[0]["score"]) is float


@pytest.mark.parametrize("make, part", [
    (lambda folder: folder, "not a configuration file"),
    (lambda folder: folder / "missing.yml", "no such config file"),
])
def test_a_path_that_is_no_configuration_file_is_named(tmp_path, make, part):
    with pytest.raises(ConfigError, match=part):
        read(make(tmp_path))


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "gapkit.yml"
    path.write_text("# " + "x" * 5_000_000 + "\nseed: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a configuration file"):
        read(path)
    path.write_text("# " + "x" * 1_500_000 + "\nseed: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="at most 1,000,000 characters"):
        read(path)


def test_the_command_line_names_the_problem_without_a_traceback(tmp_path, sample_dir, capsys):
    config = _write(tmp_path, billion_laughs())
    code = cli.main(["run", "--config", str(config), "--data", str(sample_dir), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code != 0 and "aliases" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


# --- ordinary configurations still load ------------------------------------------------------------

CONFIG_FILES = sorted({ROOT / "gapkit.yml", ROOT / "gapkit" / "sample" / "gapkit.yml",
                       *ROOT.glob("examples/*/gapkit.yml")})


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_shipped_configurations_still_load(path):
    settings = read(path)
    assert settings.source == str(path) and settings.goals


def test_the_sample_configuration_and_its_settings_json_read_back_the_same(tmp_path):
    settings = gapkit.datasets.sample_config()
    assert len(settings.goals) == 8 and settings.impact_kpis == ("csat", "repeat_purchase_rate",
                                                                 "first_response_hours")
    assert [i["factor"] for i in settings.intangibles] == ["brand warmth", "staff load", "opt-out risk"]
    # the runner hands the notebooks the checked settings as JSON, read by the same reader
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(settings.to_dict(), indent=1), encoding="utf-8")
    again = read(path)
    assert again.replace(source="") == settings.replace(out=settings.out_dir).replace(source="")


def test_python_dicts_are_checked_as_the_file_is():
    assert from_dict({"seed": 0, "language": "en", "impact": {"kpis": ["csat"]}}).seed == 0
    with pytest.raises(ConfigError, match=r"seed = -1"):
        from_dict({"seed": -1})
    with pytest.raises(ConfigError, match=r"intangibles\[0\]\.score = 3"):
        from_dict({"intangibles": [{"intervention_id": "x", "factor": "f", "score": 3}]})
