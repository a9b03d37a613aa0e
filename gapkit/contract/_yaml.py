"""The configuration's YAML, read strictly (``gapkit.config.read``).

PyYAML's safe loader reads YAML 1.1, which turns ``NO`` (Norway), ``on`` and ``y`` into booleans,
``007`` into 7 and ``010`` into 8, ``1:30`` into 90, lets a repeated key replace the first one
silently, and expands a few hundred bytes of aliases (``*a``) into gigabytes. Here instead:

- words stay words: the configuration has no yes/no keys, so yes, no, on, off, true, false are
  text; dates stay text too (:func:`gapkit.errors.parse_date` names a bad one's key);
- numbers are decimal (``1_000``, ``0.10``, ``1e6``, ``.nan``); ``0x1F``, ``0o17`` and ``1:30``
  are text, never a number the writer did not mean;
- every number remembers how it was written (:func:`text_of`), so a key that expects a name
  reads ``segment: 007`` back as ``"007"``;
- a key written twice in one mapping, an alias that refers to the list or mapping holding it,
  aliases that expand the file past :data:`MAX_EXPANDED`, nesting deeper than :data:`MAX_DEPTH`
  and files over :data:`MAX_CHARACTERS` are refused with a :class:`gapkit.ConfigError` naming
  the line and the fix.

The ``as_*`` checks below read one value of the configuration as the key expects it (a name as
written, a number in its range, a list, a mapping with known keys), each error naming the key.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import yaml

from gapkit.errors import ConfigError, did_you_mean

#: A configuration is a few kilobytes; a file larger than this is not one.
MAX_CHARACTERS = 1_000_000
#: Values plus characters once aliases are expanded (the sample gapkit.yml: about 2,000).
MAX_EXPANDED = 1_000_000
#: Levels of lists and mappings inside each other (the configuration needs 4).
MAX_DEPTH = 20

_MERGE = "tag:yaml.org,2002:merge"


class _Int(int):
    """A whole number that remembers its text (``007``)."""


class _Float(float):
    """A number that remembers its text (``1.50``)."""


def text_of(value) -> str:
    """A scalar as the file wrote it: ``007`` -> "007", ``1.50`` -> "1.50"; other values as ``str``."""
    return value.text if isinstance(value, (_Int, _Float)) else str(value)


def load(text: str):
    """The YAML document in ``text`` as plain Python values (numbers remember their text).

    Every problem, YAML syntax included, is a :class:`gapkit.ConfigError`.
    """
    if len(text) > MAX_CHARACTERS:
        raise ConfigError(f"{len(text):,} characters; a configuration is a few kilobytes (at most "
                          f"{MAX_CHARACTERS:,} characters). Is this the right file?")
    loader = None
    try:
        loader = _Strict(text)  # the reader refuses control characters (NUL) here already
        node = loader.get_single_node()
        return None if node is None else loader.construct_document(node)
    except yaml.YAMLError as err:
        raise ConfigError(f"not valid YAML ({err}).") from None
    except (ValueError, TypeError, LookupError, AttributeError, OverflowError) as err:
        if isinstance(err, ConfigError):
            raise
        # an explicit tag PyYAML cannot build (!!timestamp x, !!bool maybe)
        raise ConfigError(f"not valid YAML ({type(err).__name__}: {err}).") from None
    finally:
        if loader is not None:
            loader.dispose()


def load_file(file: Path):
    """The YAML document in ``file`` (see :func:`load`); every problem a ConfigError naming the file."""
    if not file.exists():
        raise ConfigError(f"{file}: no such config file. Create it (see README) or drop --config.")
    if not file.is_file() or file.stat().st_size > 4 * MAX_CHARACTERS:  # UTF-8: up to 4 bytes a character
        raise ConfigError(f"{file}: not a configuration file (a folder, or over {MAX_CHARACTERS:,} characters); "
                          f"give the path of a gapkit.yml.")
    try:
        return load(file.read_text(encoding="utf-8"))
    except ConfigError as err:
        raise ConfigError(f"{file}: {err}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not UTF-8 text; save the configuration as UTF-8.") from None
    except OSError as err:
        raise ConfigError(f"{file}: cannot be read ({err.strerror}); check its permissions.") from None


class _Strict(yaml.SafeLoader):
    yaml_implicit_resolvers: dict = {}

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._open: set[str] = set()  # anchors of the lists and mappings being read
        self._sizes: dict = {}  # node -> values plus characters, aliases expanded
        self._aliased = False

    def compose_node(self, parent, index):
        mark = self.peek_event().start_mark
        if self.check_event(yaml.AliasEvent):
            anchor = self.peek_event().anchor
            if anchor in self._open:
                raise ConfigError(f"line {mark.line + 1}: the alias *{anchor} refers to the list or mapping that "
                                  f"holds it, which never ends; write the values out instead.")
            self._aliased = True
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ConfigError(f"line {mark.line + 1}: lists and mappings nested more than {MAX_DEPTH} deep; "
                              f"a configuration needs 4 at most (see README, Configuration).")
        anchor = getattr(self.peek_event(), "anchor", None)
        if anchor is not None:
            self._open.add(anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open.discard(anchor)
        self._sizes[node] = size = _size(node, self._sizes)
        if self._aliased and size > MAX_EXPANDED:
            raise ConfigError(f"line {mark.line + 1}: aliases (*name) expand this configuration past "
                              f"{MAX_EXPANDED:,} values and characters (a billion-laughs file?); write the "
                              f"values out, or refer to each anchor (&name) a few times only.")
        return node

    def compose_mapping_node(self, anchor):
        node = super().compose_mapping_node(anchor)
        seen: dict = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
                continue
            key = _key(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(f"the key {key_node.value!r} is written twice in one mapping (lines {seen[key]} "
                                  f"and {line}); YAML would keep only the second silently. Keep one of them.")
            seen[key] = line
        return node


def _size(node, sizes: dict) -> int:
    if isinstance(node, yaml.ScalarNode):
        return 1 + len(node.value)
    if isinstance(node, yaml.SequenceNode):
        return 1 + sum(sizes[child] for child in node.value)
    return 1 + sum(sizes[key] + sizes[value] for key, value in node.value)


def _key(node) -> tuple:
    """What a key becomes in Python, so 1 and 01, or a and 'a', count as the same key."""
    if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
        try:
            return ("number", float(node.value.replace("_", "")))
        except ValueError:
            pass
    return (node.tag, node.value)


def _construct_int(loader, node) -> _Int:
    text = loader.construct_scalar(node)
    try:
        value = _Int(text.replace("_", ""))  # decimal: 007 is 7 (YAML 1.1 would read 010 as 8)
    except ValueError:
        raise yaml.constructor.ConstructorError(None, None, f"{text!r} is not a decimal whole number",
                                                node.start_mark) from None
    value.text = text
    return value


def _construct_float(loader, node) -> _Float:
    text = loader.construct_scalar(node)
    try:
        value = _Float(yaml.SafeLoader.construct_yaml_float(loader, node))
    except ValueError:
        raise yaml.constructor.ConstructorError(None, None, f"{text!r} is not a number", node.start_mark) from None
    value.text = text
    return value


_Strict.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Strict.add_constructor("tag:yaml.org,2002:float", _construct_float)
_Strict.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"),
                              ["~", "n", "N", ""])
_Strict.add_implicit_resolver(_MERGE, re.compile(r"^<<$"), ["<"])
_Strict.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9][0-9_]*$"), list("-+0123456789"))
_Strict.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


# --- one value, as its key expects it ---------------------------------------------------------------

_CONTAINERS = (dict, list, tuple, set)


def as_text(value, label: str, default: str | None = None) -> str | None:
    """A name or text as the file writes it (``segment: NO`` is "NO", ``id: 007`` is "007"); None
    (left empty) gives ``default``."""
    if value is None:
        return default
    if isinstance(value, _CONTAINERS):
        raise ConfigError(f"{label}: expected one name or text, got {value!r}; write it on one line (quote it "
                          f"if it holds a colon or starts with a bracket).")
    return text_of(value)


def as_columns(value, label: str) -> tuple[str, ...] | None:
    """A list of column names, each as written; one name alone is a list of one (not split into letters)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or any(v is None or isinstance(v, _CONTAINERS) for v in value):
        raise ConfigError(f"{label}: expected a list of column names, e.g. [region, channel]; got {value!r}.")
    return tuple(text_of(v) for v in value)


def as_number(value, label: str) -> float:
    """A finite number (YAML's .nan and .inf, text and true/false are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{label}: {value!r} is not a number; write e.g. 0.8 or 24.")
    return float(value)


def as_ranged(value, label: str, low: float, high: float, hint: str) -> float:
    """A finite number in low..high (both ends allowed); ``hint`` says what it is, with an example."""
    number = as_number(value, label)
    if not low <= number <= high:
        raise ConfigError(f"{label} = {text_of(value)}: give a number from {_show(low)} to {_show(high)} ({hint}).")
    return number


def _show(number: float) -> str:
    return f"{number:,.0f}" if number == int(number) else f"{number:g}"


def as_list(value, label: str) -> list:
    """A list; None (left out) is an empty one."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{label}: expected a list (lines starting with '- '); got {value!r}.")
    return value


def as_mapping(value, label: str, keys=None, example: str = "") -> dict:
    """A mapping whose keys are among ``keys`` (any, when None); None (left out) is an empty one."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: expected a mapping (key: value lines){example}; got {value!r}.")
    unknown = sorted(text_of(key) for key in value if key not in keys) if keys is not None else []
    if unknown:
        raise ConfigError(f"{label}: unknown key(s) {unknown}{did_you_mean(unknown[0], keys)}; "
                          f"known: {', '.join(sorted(keys))}{example}.")
    return dict(value)
