"""aeclust.imports: how stages import their big libraries."""

import ast
import gc
import subprocess
import sys

import pytest
from conftest import ROOT

from aeclust import imports
from aeclust.config import schema
from aeclust.errors import UserError
from aeclust.imports import bulk_imports, choose_backend


def test_bulk_imports_pause_the_collector_then_freeze_what_they_made():
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        with bulk_imports():
            assert not gc.isenabled()
            made = [[i] for i in range(1000)]  # tracked containers, as imports make
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(made)
        gc.disable()  # a caller that had it off keeps it off
        with bulk_imports():
            pass
        assert not gc.isenabled()
        gc.enable()
        with pytest.raises(ImportError), bulk_imports():
            raise ImportError("no module named 'nothing'")
        assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()  # give pytest's objects back to the collector


def printed(script: str) -> list[str]:
    """The words `script` prints in a fresh interpreter (which must exit 0)."""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_hidden_packages_look_not_installed_until_the_block_ends():
    script = (
        "import sys\n"
        "import xml\n"
        "from aeclust.imports import hidden\n"
        "with hidden(('csv', 'xml')):\n"
        "    import xml.dom  # a module of a package loaded already: found as usual\n"
        "    try:\n"
        "        import csv\n"
        "    except ModuleNotFoundError as exc:\n"
        "        print('hidden', exc.name)\n"
        "import csv\n"
        "print('after', csv.__name__, len(sys.meta_path))\n"
    )
    finders = printed("import sys; print(len(sys.meta_path))")
    assert printed(script) == ["hidden", "csv", "after", "csv", *finders]


def test_scikit_learn_imports_in_bulk_without_pandas_and_clusters():
    script = (
        "import sys\n"
        "import numpy as np\n"
        "from aeclust.imports import NOT_NEEDED, bulk_imports\n"
        "with bulk_imports():\n"
        "    from aeclust.cluster.kmeans import cluster_runs\n"
        "print(sorted(p for p in NOT_NEEDED if p in sys.modules))\n"
        "from aeclust.config import KMeansParams\n"
        "points = np.repeat(np.eye(3) * 10, 20, axis=0) + np.random.default_rng(0).normal(size=(60, 3))\n"
        "labels = np.repeat(np.arange(3), 20)\n"
        "spec = KMeansParams(n_clusters=3, init='k-means++', n_init=2, max_iter=100, tol=1e-4)\n"
        "(ids, scores, _), = cluster_runs({'x': points}, spec, labels, seed=1).values()\n"
        "import pandas\n"
        "print(scores['acc'], pandas.__name__)\n"
    )
    assert printed(script) == ["[]", "1.0", "pandas"]


@pytest.mark.slow
def test_keras_imports_without_scikit_learn_and_matplotlib_then_they_import_and_it_works():
    script = (
        "import sys\n"
        "from aeclust.imports import KERAS_NOT_NEEDED, import_keras\n"
        "keras = import_keras()\n"
        "print(sorted(p for p in KERAS_NOT_NEEDED if p in sys.modules))\n"
        "import numpy as np, sklearn.cluster, matplotlib.figure\n"
        "model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])\n"
        "print(model.predict(np.ones((4, 3)), verbose=0).shape)\n"
    )
    assert printed(script) == ["[]", "(4,", "2)"]


# Libraries that make a stage's import slow; a stage imports them (or the aeclust modules
# that import them when loaded) only inside `with bulk_imports():`, and Keras through
# `import_keras()` first in its block.
BIG_LIBRARIES = {"keras", "tensorflow", "jax", "torch", "dvclive", "sklearn", "umap", "matplotlib"}


def _imported(node: ast.AST) -> list[str]:
    """The modules an import statement loads (`from aeclust.report import figures` loads
    aeclust.report.figures)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return []


def _loading(libraries: set[str]) -> set[str]:
    """aeclust's modules that load one of `libraries` when imported (through each other too)."""
    src = ROOT / "src"
    direct = {
        ".".join(path.relative_to(src).with_suffix("").parts): {
            name for stmt in ast.parse(path.read_text()).body for name in _imported(stmt)
        }
        for path in (src / "aeclust").rglob("*.py")
    }
    found: set[str] = set()
    while True:
        more = {
            module
            for module, names in direct.items()
            if any(n.partition(".")[0] in libraries or n in found for n in names)
        }
        if more <= found:
            return found
        found |= more


def _bulk_blocks(tree: ast.AST) -> list[ast.With]:
    return [
        block
        for block in ast.walk(tree)
        if isinstance(block, ast.With)
        and any(
            isinstance(item.context_expr, ast.Call)
            and getattr(item.context_expr.func, "id", None) == "bulk_imports"
            for item in block.items
        )
    ]


@pytest.mark.parametrize("stage", sorted(p.name for p in (ROOT / "stages").glob("*.py")))
def test_stages_import_big_libraries_only_in_bulk_and_keras_alone(stage):
    big, keras = _loading(BIG_LIBRARIES), _loading({"keras"})
    assert {"aeclust.cluster.kmeans", "aeclust.nets.models", "aeclust.report.figures"} <= big
    assert {"aeclust.nets.models", "aeclust.nets.encoding", "aeclust.nets.training"} <= keras
    tree = ast.parse((ROOT / "stages" / stage).read_text())
    blocks = _bulk_blocks(tree)
    inside = {id(node) for block in blocks for node in ast.walk(block)}
    outside = [
        name
        for node in ast.walk(tree)
        if id(node) not in inside
        for name in _imported(node)
        if name.partition(".")[0] in BIG_LIBRARIES or name in big
    ]
    assert outside == []
    for block in blocks:
        loads_keras = any(
            name == "keras" or name in keras for node in ast.walk(block) for name in _imported(node)
        )
        if loads_keras:
            first = block.body[0]
            call = first.value if isinstance(first, ast.Expr | ast.Assign) else None
            assert isinstance(call, ast.Call) and getattr(call.func, "id", None) == "import_keras"


@pytest.fixture
def host(monkeypatch):
    """A host whose installed backends and GPU the test sets: `host(installed, gpu)`."""
    monkeypatch.delenv("KERAS_BACKEND", raising=False)

    def make(installed: tuple[str, ...], gpu: bool) -> None:
        monkeypatch.setattr(imports, "installed_backends", lambda: list(installed))
        monkeypatch.setattr(imports, "jax_gpu_ready", lambda: gpu)

    return make


def test_auto_picks_jax_on_a_gpu_and_tensorflow_on_the_cpu(host):
    host(("tensorflow", "jax"), gpu=True)
    assert choose_backend("auto") == "jax"
    host(("tensorflow", "jax"), gpu=False)
    assert choose_backend("auto") == "tensorflow"
    host(("tensorflow",), gpu=True)  # TensorFlow's CPU build: JAX is not there to use the GPU
    assert choose_backend("auto") == "tensorflow"
    host(("jax",), gpu=False)
    assert choose_backend("auto") == "jax"
    host((), gpu=False)
    with pytest.raises(UserError, match="no Keras backend installed"):
        choose_backend("auto")


def test_params_and_the_environment_name_the_backend_and_must_agree(host, monkeypatch):
    host(("tensorflow", "jax"), gpu=True)
    assert choose_backend("tensorflow") == "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    assert choose_backend("auto") == "tensorflow"
    assert choose_backend("tensorflow") == "tensorflow"
    with pytest.raises(
        UserError, match=r"KERAS_BACKEND=tensorflow, but params.yaml: backend = jax"
    ):
        choose_backend("jax")
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    with pytest.raises(UserError, match=r"KERAS_BACKEND=torch: must be one of tensorflow, jax"):
        choose_backend("auto")


@pytest.mark.parametrize("visible", ["", "-1"])
def test_cuda_visible_devices_can_hide_every_gpu(monkeypatch, visible):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert not imports.nvidia_gpu_visible()
    assert not imports.jax_gpu_ready()


def test_params_offer_the_backends_aeclust_runs_on():
    assert schema.BACKENDS == ("auto", *imports.BACKENDS)
    assert "tensorflow" in imports.installed_backends()  # the project's own dependency


def test_import_keras_loads_the_chosen_backend():
    script = (
        "import os\n"
        "from aeclust.imports import import_keras\n"
        "os.environ.pop('KERAS_BACKEND', None)\n"
        "keras = import_keras('jax')\n"
        "print(keras.backend.backend(), os.environ['KERAS_BACKEND'])\n"
    )
    pytest.importorskip("jax")
    assert printed(script) == ["jax", "jax"]
