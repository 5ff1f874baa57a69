"""The test helpers' own guarantees: a hung command fails its test instead of hanging the
session, and the queue table is read as `dvc queue status` prints it."""

import sys

import pytest
from conftest import ROOT, run
from test_team import queue_tasks


@pytest.mark.slow
def test_a_command_past_its_timeout_fails_with_what_it_printed():
    script = "import sys, time; print('started', flush=True); time.sleep(120)"
    with pytest.raises(AssertionError, match=r"still running after 5 s\nstarted"):
        run([sys.executable, "-c", script], ROOT, timeout=5)


def test_a_command_within_its_timeout_returns_its_output():
    assert run([sys.executable, "-c", "print('done')"], ROOT, timeout=30).stdout == "done\n"


@pytest.mark.parametrize(
    ("status", "tasks"),
    [
        (
            "Task     Name        Created    Status\n"
            "42588b4  sunny-nosh  09:38 PM   Success\n"
            "1d21c6d  holey-fuss  09:38 PM   Running\n"
            "\nWorker status: 1 active, 0 idle\n",
            ["Success", "Running"],
        ),
        ("Task     Name  Created    Status\n8690c78        09:04 PM   Queued\n", ["Queued"]),
        ("No experiment tasks in the queue.\n\nWorker status: 0 active, 0 idle\n", []),
    ],
)
def test_the_queue_table_is_read_up_to_the_worker_status(status, tasks):
    assert queue_tasks(status) == tasks
