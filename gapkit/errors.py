"""gapkit's one exception family: every message names the file, the column, the row and the fix."""


class GapkitError(Exception):
    """Base of every error gapkit raises on purpose."""


class InputError(GapkitError, ValueError):
    """An input folder or table cannot be used as it is (missing table, missing column...)."""


class TooFewUnits(InputError):
    """A model has too few units for the parameters it would estimate."""


class ConfigError(GapkitError, ValueError):
    """A configuration value or argument is wrong."""
