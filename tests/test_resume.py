"""A real `kill -9` of `dvc repro` mid-training, then a rerun that resumes and completes."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from conftest import edit_params, make_project, run

pytestmark = pytest.mark.e2e


def model_hash(project) -> str:
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    outs = lock["stages"]["train@ffn"]["outs"]
    return next(out["md5"] for out in outs if out["path"] == "models/ffn.keras")


def test_kill_9_mid_training_then_repro_resumes_to_the_same_model(tmp_path):
    project = make_project(tmp_path / "project")
    edit_params(project, **{"models.ffn.epochs": 200})
    run(["git", "commit", "-qam", "longer"], project)
    run(["dvc", "repro", "standardize"], project)

    env = {
        **os.environ,
        "AECLUST_CHECKPOINT_SECONDS": "0",
        "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}",
    }
    dvc = os.path.join(os.path.dirname(sys.executable), "dvc")
    proc = subprocess.Popen(
        [dvc, "repro", "train@ffn"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    state_file = project / ".checkpoints/ffn/state.json"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if state_file.exists() and json.loads(state_file.read_text())["epochs_done"] >= 30:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "training finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = json.loads(state_file.read_text())["epochs_done"]
    assert 30 <= killed_at < 200
    assert not (project / "models/ffn.keras").exists()

    resumed = run(["dvc", "repro", "train@ffn"], project)
    assert (
        f"resuming ffn from its checkpoint after epoch {killed_at} of 200"
        in resumed.stderr + resumed.stdout
    )
    assert not (project / ".checkpoints/ffn").exists()
    resumed_loss = (project / "reports/train/ffn/plots/metrics/loss.tsv").read_text()
    assert len(resumed_loss.splitlines()) == 201
    resumed_model = model_hash(project)

    # The same training, uninterrupted, gives the same model and losses.
    run(["dvc", "repro", "--force", "train@ffn"], project)
    assert (project / "reports/train/ffn/plots/metrics/loss.tsv").read_text() == resumed_loss
    assert model_hash(project) == resumed_model
    assert "resuming" not in run(["dvc", "status"], project).stdout


def test_a_failed_stage_under_dvc_keeps_the_cache_and_the_next_repro_finishes(tmp_path):
    project = make_project(tmp_path / "project")
    run(["dvc", "repro", "standardize"], project)
    before = (project / "data/prepared/images.npy").read_bytes()
    good = (project / "params.yaml").read_text()

    edit_params(project, **{"data.n_samples": 9999})
    failed = run(["dvc", "repro", "standardize"], project, check=False)
    assert failed.returncode != 0
    assert "data.n_samples = 9999: must be <= 5000" in failed.stderr + failed.stdout
    assert "Traceback" not in failed.stderr + failed.stdout

    # DVC removed the stage's outputs before running it; its cache still has them.
    (project / "params.yaml").write_text(good)
    run(["dvc", "checkout", "prepare", "standardize"], project)
    assert (project / "data/prepared/images.npy").read_bytes() == before
    assert "Running stage" not in run(["dvc", "repro", "standardize"], project).stdout
