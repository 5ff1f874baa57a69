"""A sweep past one machine (docs/team.md), played here: workers that are separate fresh
clones, each with its own HOME, sharing only a bare git repository (the team's `origin`)
and an S3 remote (moto's server on loopback), each running scripts/exp-job.sh, the script
the GitHub workflow and the Kubernetes Job run."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, as_user, edit_params, make_project, run
from test_team import s3_remote

pytestmark = pytest.mark.e2e

JOB = "scripts/exp-job.sh"


def env_for(home: Path, remote) -> dict[str, str]:
    """A worker's environment: its own HOME, the S3 credentials, the venv's tools."""
    home.mkdir(parents=True, exist_ok=True)
    _, env = as_user(["true"])
    return {
        **env,
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": remote.options["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": remote.options["secret_access_key"],
        "GIT_AUTHOR_NAME": "worker",
        "GIT_AUTHOR_EMAIL": "worker@example.com",
        "GIT_COMMITTER_NAME": "worker",
        "GIT_COMMITTER_EMAIL": "worker@example.com",
    }


def sh(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """The team's origin (a bare repository of a tiny project whose default DVC remote is
    the S3 bucket) and the S3 server; yields (origin, remote, tmp)."""
    tmp = tmp_path_factory.mktemp("sweep")
    with s3_remote(tmp) as remote:
        seed = make_project(tmp / "seed")
        shutil.copytree(ROOT / "scripts", seed / "scripts")
        edit_params(seed, **{"data.n_samples": 100, "models.ffn.epochs": 1, "models.cnn.epochs": 1})
        run(["dvc", "remote", "add", "-d", "team", remote.url], seed)
        for option in ("endpointurl", "region"):
            run(["dvc", "remote", "modify", "team", option, remote.options[option]], seed)
        run(["git", "add", "-A"], seed)
        run(["git", "commit", "-qm", "the team's project"], seed)
        run(["git", "clone", "-q", "--bare", str(seed), str(tmp / "origin.git")], tmp)
        yield tmp / "origin.git", remote, tmp


def worker(team, name: str) -> tuple[Path, dict[str, str]]:
    origin, remote, tmp = team
    env = env_for(tmp / f"home-{name}", remote)
    clone = tmp / name
    result = sh(["git", "clone", "-q", str(origin), str(clone)], tmp, env)
    assert result.returncode == 0, result.stderr
    return clone, env


def pushed(clone: Path, env) -> list[str]:
    listed = sh(["dvc", "exp", "list", "origin", "--name-only"], clone, env)
    assert listed.returncode == 0, listed.stderr
    return listed.stdout.split()


def ran(output: str) -> list[str]:
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")]


def test_workers_share_only_git_and_s3_and_nothing_runs_twice(team):
    one, env_one = worker(team, "one")
    first = sh([JOB, "-S", "seed=1"], one, env_one)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "train@cnn" in ran(first.stdout) and "pushed to origin" in first.stdout

    two, env_two = worker(team, "two")
    second = sh([JOB, "-S", "seed=2"], two, env_two)
    assert second.returncode == 0, second.stdout + second.stderr
    assert len(pushed(two, env_two)) == 2

    three, env_three = worker(team, "three")  # repeats worker one's experiment
    third = sh([JOB, "-S", "seed=1"], three, env_three)
    assert third.returncode == 0, third.stdout + third.stderr
    assert ran(third.stdout) == [] and "nothing to run" in third.stdout
    assert len(pushed(three, env_three)) == 2

    # A fourth clone pulls every experiment and summarises them over the two seeds.
    four, env_four = worker(team, "four")
    pulled = sh(["dvc", "exp", "pull", "origin"], four, env_four)
    assert pulled.returncode == 0, pulled.stderr
    seeds = sh(["python", "-m", "aeclust.seeds"], four, {**env_four, "PYTHONPATH": "src"})
    assert seeds.returncode == 0, seeds.stderr
    groups = json.loads((four / "reports/seeds.json").read_text())
    with_both = [g for g in groups if sorted(g["seeds"]) == [1, 2]]
    assert with_both, groups
    show = json.loads(sh(["dvc", "exp", "show", "--json"], four, env_four).stdout)
    accs = [
        e["revs"][0]["data"]["metrics"]["reports/metrics.json"]["data"]["cnn"]["acc"]
        for commit in show
        for e in commit.get("experiments") or []
    ]
    assert len(accs) == 2
    mean = with_both[0]["stats"]["cnn"]["acc"]["mean"]
    assert mean == pytest.approx(sum(accs) / 2)
    assert "cnn" in (four / "reports/seeds.md").read_text()


def test_a_killed_job_leaves_nothing_pushed_and_its_rerun_finishes(team):
    clone, env = worker(team, "killed")
    env["AECLUST_CHECKPOINT_SECONDS"] = "0"  # a checkpoint at every chunk of epochs
    before = set(pushed(clone, env))
    args = [JOB, "-S", "seed=3", "-S", "models.cnn.epochs=400"]
    job = subprocess.Popen(
        args,
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (clone / ".checkpoints/cnn").exists():
        assert job.poll() is None, job.stdout.read()
        time.sleep(0.5)
    assert (clone / ".checkpoints/cnn").exists(), "train@cnn never started"
    os.killpg(job.pid, signal.SIGKILL)  # the worker dies mid-training
    job.wait()
    assert set(pushed(clone, env)) == before  # nothing half-pushed

    rerun = sh(args, clone, env)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert len(set(pushed(clone, env)) - before) == 1


def test_bad_params_fail_fast_before_pulling_anything(team):
    clone, env = worker(team, "bad")
    bad = sh([JOB, "-S", "seed=-1"], clone, env, timeout=60)
    assert bad.returncode == 2
    lines = [line for line in bad.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "seed = -1: must be an integer" in lines[0], bad.stderr
    assert not (clone / ".dvc/cache").exists()  # nothing pulled
    assert not (clone / "data/prepared").exists()


def test_the_workflow_runs_the_job_script_over_the_grid():
    workflow = yaml.safe_load((ROOT / ".github/workflows/sweep.yml").read_text())
    trigger = workflow[True] if True in workflow else workflow["on"]  # YAML reads `on` as true
    inputs = trigger["workflow_dispatch"]["inputs"]
    assert {"grid", "max_parallel", "runs_on"} <= set(inputs)
    assert isinstance(json.loads(inputs["grid"]["default"]), list)
    experiment = workflow["jobs"]["experiment"]
    assert experiment["strategy"]["matrix"]["args"] == "${{ fromJSON(inputs.grid) }}"
    assert "inputs.max_parallel" in experiment["strategy"]["max-parallel"]
    assert "inputs.runs_on" in experiment["runs-on"]
    runs = [step.get("run", "") for step in experiment["steps"]]
    assert any(JOB in command for command in runs)
    summary = workflow["jobs"]["summary"]
    assert summary["needs"] == "experiment"
    summary_runs = "\n".join(step.get("run", "") for step in summary["steps"])
    assert "python -m aeclust.seeds" in summary_runs and "GITHUB_STEP_SUMMARY" in summary_runs
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), step
    assert (ROOT / JOB).stat().st_mode & 0o111  # executable, as the workflow calls it


def test_the_kubernetes_job_runs_the_same_script_once_per_grid_line():
    config_map, job = yaml.safe_load_all((ROOT / "deploy/k8s-sweep.yaml").read_text())
    grid = config_map["data"]["grid"].splitlines()
    spec = job["spec"]
    assert job["kind"] == "Job" and spec["completionMode"] == "Indexed"
    assert spec["completions"] == len(grid)
    container = spec["template"]["spec"]["containers"][0]
    assert JOB in container["args"][0] and "JOB_COMPLETION_INDEX" in container["args"][0]
