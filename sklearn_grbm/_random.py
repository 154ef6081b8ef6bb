"""Seeds and private torch generators: every random draw flows from ``random_state``.

Nothing here touches the global torch seed. One rule turns a
``random_state`` into an integer seed (:func:`seed_from`), and one rule
derives the seed of each training epoch from the fit's base seed
(:func:`epoch_seed`), so that ``fit(n_iter=k)`` and ``k`` calls of
``partial_fit`` draw the same numbers.
"""

import numpy as np
import torch
from sklearn.utils import check_random_state

SEED_MAX = np.iinfo(np.int32).max


def seed_from(random_state):
    """An integer seed drawn from ``random_state`` (int, RandomState or None).

    An int always gives the same seed; a RandomState instance advances.
    """
    return int(check_random_state(random_state).randint(SEED_MAX))


def epoch_seed(base_seed, epoch):
    """The seed of training epoch ``epoch`` (0-based, counted over all fits)."""
    return int(np.random.SeedSequence([int(base_seed), int(epoch)]).generate_state(1)[0] % SEED_MAX)


def make_generator(device, seed):
    """A private generator on ``device`` seeded with ``seed``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator
