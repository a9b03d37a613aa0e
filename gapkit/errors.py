"""gapkit's one exception family: every message names the file, the column, the row and the fix;
and the small checks whose messages every module shares (a date, a name that is nearly right)."""

import re
from datetime import date, datetime


class GapkitError(Exception):
    """Base of every error gapkit raises on purpose."""


class InputError(GapkitError, ValueError):
    """An input folder or table cannot be used as it is (missing table, missing column...)."""


class TooFewUnits(InputError):
    """A model has too few units for the parameters it would estimate."""


class ConfigError(GapkitError, ValueError):
    """A configuration value or argument is wrong."""


def did_you_mean(word: str, options) -> str:
    """" (did you mean 'csat'?)" for a name close to one of ``options``; "" when none is."""
    import difflib

    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_date(value, label: str) -> str:
    """A calendar date written YYYY-MM-DD (or a YAML date); "now", "2025" or "1/2/2025" are refused."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ConfigError(f"{label}: {value!r} is not a date written YYYY-MM-DD (e.g. 2025-06-30).")
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ConfigError(f"{label}: {value!r} is not a calendar date (month 1-12, a day the month has).") from None


def check_alpha(alpha) -> float:
    """``alpha`` as a float strictly between 0 and 0.5 (0.05: 95% intervals), or a ConfigError."""
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0 < value < 0.5:
        raise ConfigError(f"alpha = {alpha!r}: give a number between 0 and 0.5, such as 0.05 (95% intervals) "
                          f"or 0.10 (90%)")
    return value
