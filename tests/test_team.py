"""The team workflow, end to end (docs/team.md): a shared DVC remote, clones that get a
teammate's outputs without training, an experiment sweep, the pull-request report.

Clone A trains once for the whole module. Each remote test pushes A to a real remote (a
local folder, Debian's sshd, moto's S3 server, both started on loopback ports) and checks
that clone B, a fresh git clone of the same commit, gets every output from it and runs no
stage. A server that cannot start skips its test with the reason, or fails it where
AECLUST_REQUIRE_REMOTES=1 (CI: scripts/ci-services.sh installs what the servers need).
"""

import getpass
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, as_user, edit_params, make_project, run

pytestmark = pytest.mark.e2e

OUTPUT_DIRS = ("data", "models", "reports")
SSHD = Path("/usr/sbin/sshd")


@dataclass
class Remote:
    """A DVC remote: its url, and the options (credentials) that go to .dvc/config.local."""

    name: str
    url: str
    options: dict[str, str] = field(default_factory=dict)


def use_remote(project: Path, remote: Remote) -> None:
    """Make `remote` the project's default, in .dvc/config.local (never committed)."""
    run(["dvc", "remote", "add", "--local", "--force", "-d", remote.name, remote.url], project)
    for option, value in remote.options.items():
        run(["dvc", "remote", "modify", "--local", remote.name, option, value], project)


def share(origin: Path, dest: Path, remote: Remote) -> Path:
    """`origin` pushes its outputs and run-cache to `remote`; a teammate makes a fresh git
    clone of it in `dest`, configures the same remote and pulls."""
    use_remote(origin, remote)
    run(["dvc", "push", "--run-cache", "-r", remote.name], origin)
    run(["git", "clone", "-q", str(origin), str(dest)], origin.parent)
    run(["git", "config", "user.email", "teammate@example.com"], dest)  # CI has no identity
    run(["git", "config", "user.name", "teammate"], dest)
    use_remote(dest, remote)
    run(["dvc", "pull", "--run-cache"], dest)
    return dest


def repro_stages(output: str) -> dict[str, list[str]]:
    """The stages `dvc repro` ran, restored from the run-cache, or found unchanged."""
    kinds = {"ran": "Running stage '", "restored": "is cached", "unchanged": "didn't change"}
    return {
        kind: [line.split("'")[1] for line in output.splitlines() if marker in line]
        for kind, marker in kinds.items()
    }


def output_files(project: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(project)): path.read_bytes()
        for top in OUTPUT_DIRS
        for path in sorted((project / top).rglob("*"))
        if path.is_file()
    }


def unavailable(reason: str) -> None:
    if os.environ.get("AECLUST_REQUIRE_REMOTES") == "1":
        pytest.fail(f"{reason} (AECLUST_REQUIRE_REMOTES=1: every remote must run)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, server: subprocess.Popen, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def start(cmd: list[str], port: int, log: Path, what: str) -> subprocess.Popen:
    with log.open("w") as out:
        server = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    if not wait_for_port(port, server):
        server.kill()
        server.wait()
        unavailable(f"{what} did not start: {' '.join(cmd)}\n{log.read_text()[-2000:]}")
    return server


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def local_remote(tmp: Path) -> Remote:
    return Remote("local", str(tmp / "store"))


@contextmanager
def ssh_remote(tmp: Path) -> Iterator[Remote]:
    """Debian's sshd on a loopback port, logging in the current user with a fresh key."""
    if not SSHD.exists():
        unavailable(f"no {SSHD}: apt-get install openssh-server (scripts/ci-services.sh)")
    keys = tmp / "sshd"
    keys.mkdir()
    for key in ("host_key", "client_key"):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / key)], tmp)
    (keys / "authorized_keys").write_text((keys / "client_key.pub").read_text())
    port = free_port()
    config = keys / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host_key'}\n"
        f"AuthorizedKeysFile {keys / 'authorized_keys'}\nPidFile {keys / 'sshd.pid'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
        "Subsystem sftp internal-sftp\n"  # DVC's ssh remote speaks SFTP
    )
    server = start([str(SSHD), "-D", "-e", "-f", str(config)], port, keys / "sshd.log", "sshd")
    try:
        yield Remote(
            "ssh",
            f"ssh://{getpass.getuser()}@127.0.0.1:{port}{tmp / 'store'}",
            {"keyfile": str(keys / "client_key")},
        )
    finally:
        stop(server)


@contextmanager
def s3_remote(tmp: Path) -> Iterator[Remote]:
    """moto's S3 server on a loopback port (the way DVC tests its own S3 support)."""
    try:
        import boto3
        import moto.server  # noqa: F401
    except ImportError as error:
        unavailable(f"no moto/boto3 ({error}): pip install -e .[dev]")
    port = free_port()
    cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = start(cmd, port, tmp / "moto.log", "moto's S3 server")
    try:
        endpoint = f"http://127.0.0.1:{port}"
        credentials = {"access_key_id": "testing", "secret_access_key": "testing"}
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=credentials["access_key_id"],
            aws_secret_access_key=credentials["secret_access_key"],
        ).create_bucket(Bucket="aeclust")
        yield Remote(
            "s3",
            "s3://aeclust/store",
            {"endpointurl": endpoint, "region": "us-east-1", **credentials},
        )
    finally:
        stop(server)


SERVERS = {"ssh": ssh_remote, "s3": s3_remote}


@pytest.fixture(params=["local", *SERVERS])
def remote(request, tmp_path: Path) -> Iterator[Remote]:
    if request.param == "local":
        yield local_remote(tmp_path)
    else:
        with SERVERS[request.param](tmp_path) as served:
            yield served


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """Clone A: the project, trained once with tiny params, outputs and dvc.lock committed."""
    project = make_project(tmp_path_factory.mktemp("team") / "a")
    edit_params(
        project,
        **{"data.n_samples": 100, "models.ffn.epochs": 1, "models.cnn.epochs": 1},
    )
    run(["dvc", "repro"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "trained"], project)
    return project


def test_a_teammates_clone_gets_every_output_without_training(trained, remote, tmp_path):
    teammate = share(trained, tmp_path / "b", remote)
    assert "runs" in {p.name for p in (teammate / ".dvc/cache").iterdir()}  # the run-cache too

    repro = run(["dvc", "repro"], teammate)
    stages = repro_stages(repro.stdout)
    assert stages["ran"] == [], repro.stdout
    every = run(["dvc", "stage", "list", "--name-only"], teammate).stdout.split()
    assert sorted(stages["unchanged"] + stages["restored"]) == sorted(every), repro.stdout
    assert output_files(teammate) == output_files(trained)
    assert run(["git", "status", "--porcelain"], teammate).stdout == ""
    assert "up to date" in run(["dvc", "status"], teammate).stdout


def experiments(project: Path) -> dict[str, dict]:
    """`dvc exp show --json`, as {experiment name: {"learning_rate": .., "cnn_acc": ..}}."""
    found = {}
    for commit in json.loads(run(["dvc", "exp", "show", "--json"], project).stdout):
        for experiment in commit.get("experiments") or []:
            newest = experiment["revs"][0]
            assert newest["error"] is None, newest
            params = newest["data"]["params"]["params.yaml"]["data"]
            metrics = newest["data"]["metrics"]["reports/metrics.json"]["data"]
            found[newest["name"]] = {
                "learning_rate": params["models"]["cnn"]["learning_rate"],
                "cnn_acc": metrics["cnn"]["acc"],
            }
    return found


def start_queue(project: Path, jobs: int) -> None:
    """`dvc queue start -j jobs`, its output to a file. The workers it spawns inherit its
    stdout and stderr: through a pipe, the command would not return until they exit."""
    log = project / ".dvc/tmp/queue-start.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd, env = as_user(["dvc", "queue", "start", "-j", str(jobs)])
    with log.open("a") as out:
        subprocess.run(
            cmd, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=120, check=True
        )


def queue_tasks(status: str) -> list[str]:
    """The Status column of `dvc queue status`'s table (the lines after its header, up to
    the blank line before "Worker status")."""
    lines = status.splitlines()
    if not lines or lines[0].split()[:1] != ["Task"]:
        return []  # "No experiment tasks in the queue."
    rows = lines[1 : lines.index("")] if "" in lines else lines[1:]
    return [row.split()[-1] for row in rows]


def worker_logs(project: Path) -> str:
    logs = sorted((project / ".dvc/tmp/exps").glob("**/*.out"))
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs)


def wait_for_queue(project: Path, jobs: int, seconds: float = 600, stalled: float = 60) -> str:
    """Poll `dvc queue status` until no task is queued or running.

    Tasks left Queued with none Running for `stalled` seconds mean the workers exited
    early (DVC #10562): the queue is started again, as docs/team.md tells users to."""
    deadline = time.monotonic() + seconds
    idle_since = time.monotonic()
    status = ""
    while time.monotonic() < deadline:
        polled = run(["dvc", "queue", "status"], project, check=False, timeout=120)
        status = polled.stdout or polled.stderr
        tasks = queue_tasks(polled.stdout)
        if polled.returncode == 0 and not {"Queued", "Running"} & set(tasks):
            return polled.stdout
        if "Running" in tasks:
            idle_since = time.monotonic()
        elif "Queued" in tasks and time.monotonic() - idle_since > stalled:
            start_queue(project, jobs)
            idle_since = time.monotonic()
        time.sleep(3)
    run(["dvc", "queue", "stop", "--kill"], project, check=False, timeout=120)
    raise AssertionError(
        f"the queue did not finish in {seconds:g} s:\n{status}\n{worker_logs(project)}"
    )


def worker_exited(info: Path) -> bool:
    try:
        return json.loads(info.read_text()).get("returncode") is not None
    except ValueError:  # being rewritten
        return False


def stop_queue(project: Path, seconds: float = 120) -> None:
    """`dvc queue stop`, then wait until every worker has exited (dvc_task records its
    return code in the worker's .json), so that no worker touches the repository after."""
    run(["dvc", "queue", "stop"], project, check=False, timeout=120)
    deadline = time.monotonic() + seconds
    workers = sorted((project / ".dvc/tmp/exps/celery").glob("dvc-exp-worker-*.json"))
    while time.monotonic() < deadline:
        if all(worker_exited(worker) for worker in workers):
            return
        time.sleep(1)
    run(["dvc", "queue", "stop", "--kill"], project, check=False, timeout=120)
    raise AssertionError(f"queue workers still running {seconds:g} s after dvc queue stop")


def test_a_sweep_runs_queued_experiments_and_keeps_the_best(trained, tmp_path):
    project = share(trained, tmp_path / "sweep", local_remote(tmp_path))
    queued = run(
        ["dvc", "exp", "run", "--queue", "-S", "models.cnn.learning_rate=0.001,0.005"], project
    )
    assert queued.stdout.count("Queued experiment") == 2, queued.stdout
    start_queue(project, jobs=2)
    try:
        status = wait_for_queue(project, jobs=2)
    finally:
        stop_queue(project)
    assert queue_tasks(status) == ["Success", "Success"], f"{status}\n{worker_logs(project)}"

    found = experiments(project)
    assert sorted(e["learning_rate"] for e in found.values()) == [0.001, 0.005], found
    assert all(isinstance(e["cnn_acc"], float) for e in found.values()), found
    table = run(["dvc", "exp", "show", "--md", "--no-pager"], project).stdout
    header = table.splitlines()[0]
    assert "cnn.acc" in header and "models.cnn.learning_rate" in header
    for name, experiment in found.items():
        row = next(line for line in table.splitlines() if f"[{name}]" in line)
        assert f"{experiment['cnn_acc']:g}" in row and f"{experiment['learning_rate']:g}" in row

    best = max(found, key=lambda name: found[name]["cnn_acc"])
    run(["dvc", "exp", "apply", best], project)
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["models"]["cnn"]["learning_rate"] == found[best]["learning_rate"]
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert metrics["cnn"]["acc"] == found[best]["cnn_acc"]
    assert repro_stages(run(["dvc", "repro"], project).stdout)["ran"] == []  # outputs came too

    run(["dvc", "exp", "branch", best, "best-lr"], project)
    kept = yaml.safe_load(run(["git", "show", "best-lr:params.yaml"], project).stdout)
    assert kept["models"]["cnn"]["learning_rate"] == found[best]["learning_rate"]


def test_the_ci_report_script_reproduces_and_reports_the_changes(trained, tmp_path):
    project = share(trained, tmp_path / "pr", local_remote(tmp_path))
    # A pull request that changes a param and commits nothing else.
    run(["git", "checkout", "-q", "-b", "fewer-clusters"], project)
    edit_params(project, **{"kmeans.n_clusters": 8})
    run(["git", "commit", "-qam", "8 clusters"], project)

    script = ROOT / "scripts/ci-report.sh"
    report = run(
        ["bash", str(script), "--base", "main", "--push", "--output", "report.md"], project
    )
    markdown = (project / "report.md").read_text()
    assert "Stages run: `kmeans`, `report`." in markdown, report.stderr
    rows = [line.split("|")[1:-1] for line in markdown.splitlines() if line.startswith("| ")]
    cells = [[cell.strip() for cell in row] for row in rows]
    assert ["Path", "Metric", "main", "workspace", "Change"] in cells
    assert any(row[:2] == ["reports/metrics.json", "raw.acc"] for row in cells)
    assert ["params.yaml", "kmeans.n_clusters", "10", "8"] in cells
    assert "![comparison.png](reports/figures/comparison.png)" in markdown
    assert "outputs are out of date" in markdown  # dvc.lock was not committed with the change
    # --push: the remote now holds what CI reproduced.
    assert "in sync" in run(["dvc", "status", "--cloud"], project).stdout
