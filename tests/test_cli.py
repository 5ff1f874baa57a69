"""aeclust.stage: the frame every stage runs in."""

import subprocess
import sys
import textwrap

STAGE = textwrap.dedent(
    """
    import atexit, gc, sys
    from aeclust.stage import run_stage
    from aeclust.errors import ParamsError

    # atexit runs before the interpreter's last collection: report what it will walk
    atexit.register(lambda: print("frozen", gc.get_freeze_count() > 0))

    def main(argv):
        if argv == ["bad"]:
            raise ParamsError("kmeans.n_clusters = 0: must be >= 2")

    run_stage("demo", main)
    """
)


def test_a_finished_stage_leaves_its_objects_out_of_the_last_collection():
    done = subprocess.run([sys.executable, "-c", STAGE], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["frozen", "True"]
    failed = subprocess.run([sys.executable, "-c", STAGE, "bad"], capture_output=True, text=True)
    assert failed.returncode == 2
    assert failed.stderr.strip() == "demo: error: kmeans.n_clusters = 0: must be >= 2"
    assert failed.stdout.split() == ["frozen", "False"]
