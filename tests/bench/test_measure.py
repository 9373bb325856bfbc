"""A function measured in a process of its own, from its source: what it returns, the memory
the OS saw it use, and its failure said with its own message."""

import pytest

from playground.bench.measure import run_function


def holds(megabytes):
    """Hold `megabytes` of memory at once, touched page by page."""
    block = bytearray(megabytes * 2**20)
    for offset in range(0, len(block), 4096):
        block[offset] = 1
    return len(block) // 2**20


def fails(word):
    raise ValueError(f"no {word} here")


def test_the_function_runs_from_its_source_and_its_peak_is_the_os_s() -> None:
    small = run_function(holds, 1)
    large = run_function(holds, 300)
    assert (small["result"], large["result"]) == (1, 300)
    # 300 MB held at once: the child's peak rises by about that much over the 1 MB run
    assert 250 * 2**20 <= large["peak_rss"] - small["peak_rss"] <= 350 * 2**20
    assert small["seconds"] > 0


def test_a_function_that_raises_is_said_with_its_message() -> None:
    with pytest.raises(
        RuntimeError, match="fails failed in its own process(.|\n)*no ëmoji 🐍 here"
    ):
        run_function(fails, "ëmoji 🐍")
