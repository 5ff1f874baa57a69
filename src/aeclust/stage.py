"""The frame every stage runs in: logging, and one clear line for user errors."""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Callable

from aeclust.errors import UserError


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
        # collection the objects `main` made. (What the big imports made is frozen already,
        # by `aeclust.imports.bulk_imports`: that was ~0.25 s of the kmeans stage's exit.)
        gc.freeze()
    except UserError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"{name}: interrupted; previous outputs are left as they were", file=sys.stderr)
        sys.exit(130)
