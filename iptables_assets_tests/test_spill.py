"""Scratch files of a step (spill.py): a full disk's error names the file, as every write's does."""

import errno
import os

import polars as pl
import pytest

from iptables_assets import atomic, spill


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_full_disk_names_the_spilled_file(tmp_path):
    (tmp_path / "daily_port_counts").mkdir()
    target = tmp_path / "daily_port_counts" / "2026-01-02.parquet"
    target.symlink_to("/dev/full")  # every write to it: No space left on device
    with pytest.raises(atomic.CannotWrite) as raised:
        spill.spill(pl.DataFrame({"port": [22]}), tmp_path, "daily_port_counts/2026-01-02")
    assert raised.value.errno == errno.ENOSPC
    assert str(raised.value) == f"cannot write {str(target)!r}: No space left on device"
