"""Data to try gapkit on: the synthetic shop of :mod:`gapkit.sample`, generated, checked and
ready, so that every example in the docstrings runs as written, in any folder.

Examples
--------
>>> data = gapkit.datasets.sample()
>>> config = gapkit.datasets.sample_config()
>>> len(data["orders"]), len(config.goals)
(4000, 8)
"""

from __future__ import annotations

from functools import lru_cache

#: The report date the sample is made for: its last day.
SAMPLE_AS_OF = "2025-06-30"


def sample(n_orders: int = 4000, seed: int = 7):
    """The synthetic shop's eight tables, checked as :func:`gapkit.load` checks a folder.

    The same data as ``data/sample`` of a checkout (``make sample``), with its planted effects
    (:data:`gapkit.sample.GROUND_TRUTH`) and its planted bad rows, which are in ``rejects``.
    The same arguments give the same data; a copy is returned, so changing it is safe.
    """
    from gapkit.contract.validation import Data

    data = _sample(int(n_orders), int(seed))
    return Data({name: frame.copy() for name, frame in data.items()}, data.rejects.copy(), data.counts.copy(),
                source=data.source, files=data.files, notes=data.notes)


@lru_cache(maxsize=4)
def _sample(n_orders: int, seed: int):
    from gapkit.contract.validation import validate
    from gapkit.sample.simulate import generate

    return validate(generate(n_orders=n_orders, seed=seed, end=SAMPLE_AS_OF),
                    source=f"gapkit.datasets.sample(n_orders={n_orders}, seed={seed})")


def sample_config():
    """The sample's configuration (the ``gapkit.yml`` of a checkout, shipped with the package):
    its goals, segments, valuation, business hours and report date.

    The ``data`` key names the checkout's ``data/sample``; the data itself is :func:`sample`.
    """
    from importlib import resources

    from gapkit.config import read

    with resources.as_file(resources.files("gapkit.sample") / "gapkit.yml") as path:
        return read(path)
