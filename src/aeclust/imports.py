"""How stages import their big libraries (TensorFlow and Keras, scikit-learn, umap-learn,
matplotlib): in bulk, without the cyclic garbage collector (`bulk_imports`), and without
the optional parts those libraries would load for nothing (`hidden`, `import_keras`).

Nothing here imports a big library itself.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.abc
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from aeclust.errors import UserError

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


# The Keras backends aeclust runs on, in the order `choose_backend` prefers them where JAX
# cannot use a GPU: on the 2-core CPUs measured, TensorFlow trains the pipeline's nets
# fastest (docs/performance.md, "The backend"). torch, measured slower there and a
# multi-gigabyte install, is not offered.
BACKENDS = ("tensorflow", "jax")


# The packages that let JAX (>= 0.6) run on NVIDIA GPUs: `pip install "jax[cuda13]"` or
# `"jax[cuda12]"`. Without one, JAX runs on the CPU even where a GPU is visible.
JAX_CUDA_PLUGINS = ("jax_cuda13_plugin", "jax_cuda12_plugin")


def nvidia_gpu_visible() -> bool:
    """Whether this process can see an NVIDIA GPU: the driver lists one and
    CUDA_VISIBLE_DEVICES does not hide them all. Reads a few paths; imports nothing."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", "0").strip() in ("", "-1"):
        return False
    return any(Path("/proc/driver/nvidia/gpus").glob("*")) or any(Path("/dev").glob("nvidia[0-9]*"))


def jax_gpu_ready() -> bool:
    """Whether JAX would run on an NVIDIA GPU here: its CUDA plugin is installed and a GPU
    is visible. Imports nothing."""
    plugin = any(importlib.util.find_spec(name) is not None for name in JAX_CUDA_PLUGINS)
    return plugin and nvidia_gpu_visible()


def installed_backends() -> list[str]:
    """The packages of `BACKENDS` that are installed, found without importing them."""
    return [name for name in BACKENDS if importlib.util.find_spec(name) is not None]


def choose_backend(param: str = "auto") -> str:
    """The Keras backend to run on. KERAS_BACKEND, where set, names it; else params.yaml's
    `backend`, unless "auto"; else the fastest one installed for this host: JAX where it can
    run on an NVIDIA GPU (`jax_gpu_ready`; the TensorFlow aeclust installs is its CPU
    build), TensorFlow otherwise, JAX where TensorFlow is not installed. A KERAS_BACKEND
    outside `BACKENDS`, or one that disagrees with a `backend` other than "auto", raises
    UserError."""
    env = os.environ.get("KERAS_BACKEND", "").strip()
    if env:
        if env not in BACKENDS:
            raise UserError(f"KERAS_BACKEND={env}: must be one of {', '.join(BACKENDS)}, or unset")
        if param not in ("auto", env):
            raise UserError(
                f"KERAS_BACKEND={env}, but params.yaml: backend = {param}: unset KERAS_BACKEND, "
                f"or set backend: {env} or auto"
            )
        return env
    if param != "auto":
        return param
    installed = installed_backends()
    if "jax" in installed and jax_gpu_ready():
        return "jax"
    if not installed:
        raise UserError('no Keras backend installed: pip install -e . (TensorFlow) or -e ".[jax]"')
    return installed[0]


def import_keras(backend: str = "auto") -> ModuleType:
    """`import keras` on the backend `choose_backend(backend)` picks, without the optional
    pandas, scikit-learn and matplotlib that Keras would load (`KERAS_NOT_NEEDED`); Keras
    already loaded is returned as is. Call it before anything else imports Keras."""
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = choose_backend(backend)
    with hidden(KERAS_NOT_NEEDED):
        import keras
    return keras
