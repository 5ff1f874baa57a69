"""The frame every stage runs in: logging, and one clear line for user errors."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
from collections.abc import Callable, Iterator

from aeclust.errors import UserError


@contextlib.contextmanager
def bulk_imports() -> Iterator[None]:
    """Around a stage's imports of its big libraries (TensorFlow and Keras, scikit-learn,
    UMAP, matplotlib): no cyclic garbage collection while they load, then what they made
    is frozen (`gc.freeze`: left out of every later collection).

    Their hundreds of thousands of new objects, nearly all kept for the life of the process,
    set off hundreds of collections of the young generation and a few of all of them, which
    find nothing to free: ~0.1 s of scikit-learn's ~1.2 s import, ~0.7 s of TensorFlow's
    (2 cores). Frozen, they are not walked again by the collections during the stage, nor
    touched (copied) by those in the report's forked figure workers."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def run_stage(name: str, main: Callable[[list[str]], None]) -> None:
    """Run `main(argv)`; a `UserError` becomes one line on stderr and exit status 2,
    Ctrl-C exit status 130. Outputs are renamed into place only when complete, so
    either way the previous outputs stay as they were."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    logging.basicConfig(level=logging.WARNING, format=f"{name}: %(message)s", stream=sys.stderr)
    logging.getLogger("aeclust").setLevel(logging.INFO)
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.ERROR)  # "no TPU" on every start
    try:
        main(sys.argv[1:])
        # The stage is done and its outputs are in place: spare the interpreter's last
        # collection, which walks every object SciPy, scikit-learn or TensorFlow made
        # (~0.25 s of the kmeans stage). Nothing left needs it: files are closed.
        gc.freeze()
    except UserError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"{name}: interrupted; previous outputs are left as they were", file=sys.stderr)
        sys.exit(130)
