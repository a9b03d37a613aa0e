"""Synthetic post-sale follow-up data with planted, documented effects.

The generator builds the eight input tables of the gapkit contract (orders, customers,
followups, tickets, surveys, referrals, interventions, costs) for an imaginary online shop.
Customer behaviour depends on experience (on-time delivery, a follow-up within 7 days, a
ticket handled well), and three interventions are planted with known effects so that the
impact estimators can be checked against :data:`GROUND_TRUTH`:

* ``checkin``: segment B only, from 2025-01-01 (difference-in-differences against A and C,
  with a common time shift that biases a naive pre/post comparison);
* ``sms_thanks``: a customer-randomized A/B test (``customers.variant``) from 2024-09-01
  to 2024-12-31;
* ``faster_support``: everyone from 2025-03-01, no comparison group (interrupted time series).

Everything is vectorized with :func:`numpy.random.default_rng`; 1,000,000 orders take
seconds, not minutes.  Order chains are simulated generation by generation (the k-th order
of every customer at once), so the number of Python-level iterations is the length of the
longest customer history, never the number of orders.

Command line::

    python -m gapkit.sample --out data/sample --orders 4000 --seed 7

Layout: :mod:`~gapkit.sample.parameters` (the shop's numbers), :mod:`~gapkit.sample.comments`
(comment templates), :mod:`~gapkit.sample.truth` (planted effects and bad rows),
:mod:`~gapkit.sample.simulate` (:func:`generate`), :mod:`~gapkit.sample.files` (:func:`write`) and
:mod:`~gapkit.sample.cli`.
"""

from gapkit.sample.cli import main
from gapkit.sample.files import write
from gapkit.sample.parameters import TABLES
from gapkit.sample.simulate import generate
from gapkit.sample.truth import GROUND_TRUTH

__all__ = ["GROUND_TRUTH", "TABLES", "generate", "write", "main"]
