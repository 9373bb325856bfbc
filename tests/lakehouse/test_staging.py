"""Staging folder names and whether their writer still runs, against real processes."""

import os
import signal
import subprocess
import sys
import time

import psutil

from playground.lakehouse.staging import host_tag, staging_folder_name, started, writer_of


def test_a_folder_name_records_this_process_and_this_machine() -> None:
    writer = writer_of(staging_folder_name())
    assert writer is not None and writer.pid == os.getpid() and writer.here
    assert writer_of(f"extract-20260101-000000-p{os.getpid()}-abcdef12").here  # older names
    assert not writer_of("extract-20260101-000000-p1-helsewhere-abcdef12").here
    assert writer_of("extract-x-p1-y") is None  # a layout clean does not know
    assert host_tag() and "/" not in host_tag()


def test_a_running_writer_is_running_and_a_gone_one_is_not() -> None:
    me = writer_of(staging_folder_name())
    now = time.time()
    assert started(me, now) == psutil.Process().create_time()
    # the PID reused: a file written before this process started was another process's
    assert started(me, psutil.Process().create_time() - 60) is None

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        written = time.time()
        named = writer_of(f"extract-20260101-000000-p{child.pid}-h{host_tag()}-abcdef12")
        assert started(named, written) is not None
        child.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert started(named, written) is None  # killed, not yet reaped: writes nothing
    finally:
        child.kill()
        child.wait()
    assert started(named, written) is None  # reaped: the PID is free
