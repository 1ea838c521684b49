"""A run's out dir for the report tests (see report_run.py for how it is made)."""

from pathlib import Path

import pytest
from report_run import make_run


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    """The out dir of one run, as `harness run --out` leaves it (shared: it is read only)."""
    out = tmp_path_factory.mktemp("report-run") / "out"
    make_run(out)
    return out
