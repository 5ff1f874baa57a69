"""How stages import their big libraries (TensorFlow and Keras, scikit-learn, umap-learn,
matplotlib): in bulk, without the cyclic garbage collector (`bulk_imports`), and without
the optional parts those libraries would load for nothing (`hidden`, `import_keras`).

Nothing here imports a big library itself.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.abc
import sys
from collections.abc import Iterator
from types import ModuleType

# scikit-learn and Keras import pandas at every start, only if installed, for DataFrame
# inputs and outputs: ~0.2-0.3 s. The stages hand them NumPy arrays alone.
NOT_NEEDED = ("pandas",)
# Keras also imports scikit-learn (for `keras.wrappers`, its scikit-learn estimators) and
# matplotlib.pyplot (for `keras.visualization`), each only if installed: ~0.6 s and ~0.3 s
# of a ~3.2 s `import keras` with TensorFlow on 2 cores. The stages use neither part; the
# ones that need scikit-learn import it themselves afterwards.
KERAS_NOT_NEEDED = (*NOT_NEEDED, "sklearn", "matplotlib")


@contextlib.contextmanager
def bulk_imports(hide: tuple[str, ...] = NOT_NEEDED) -> Iterator[None]:
    """Around a stage's imports of its big libraries: no cyclic garbage collection while
    they load, then what they made is frozen (`gc.freeze`: left out of every later
    collection); the optional packages `hide` stay unloaded (`hidden`).

    Their hundreds of thousands of new objects, nearly all kept for the life of the process,
    set off hundreds of collections of the young generation and a few of all of them, which
    find nothing to free: ~0.1 s of scikit-learn's ~1.2 s import, ~0.7 s of TensorFlow's,
    0.2-0.5 s of umap-learn's (2 cores). Frozen, they are not walked again by the
    collections during the stage, nor touched (copied) by those in the report's forked
    figure workers. It stays for that: up to a second off every stage that loads these
    libraries, against a few lines here."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        with hidden(hide):
            yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


class _Refuse(importlib.abc.MetaPathFinder):
    """An import finder that answers "not installed" for the packages `names` (and their
    modules) while they are not loaded."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def find_spec(self, fullname, path, target=None):
        package = fullname.partition(".")[0]
        if package in self.names and package not in sys.modules:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


@contextlib.contextmanager
def hidden(packages: tuple[str, ...]) -> Iterator[None]:
    """Within the block, the packages `packages` that are not loaded yet look not installed:
    importing them raises ModuleNotFoundError, so a library that imports them only if they
    are installed carries on without them. After the block they import as usual."""
    refuse = _Refuse(packages)
    sys.meta_path.insert(0, refuse)
    try:
        yield
    finally:
        sys.meta_path.remove(refuse)


def import_keras() -> ModuleType:
    """`import keras` (and its backend), without the optional pandas, scikit-learn and
    matplotlib that Keras would load (`KERAS_NOT_NEEDED`); Keras already loaded is returned
    as is. Call it before anything else imports Keras."""
    with hidden(KERAS_NOT_NEEDED):
        import keras
    return keras
