"""Write one benchmark's results into its own section of docs/benchmarks.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nRun on demand with `python -m benchmarks`. Each section is rewritten by its own run.\n"


def machine_line() -> str:
    """The machine and the date, so a number is never read without its context."""
    import numpy

    cpus = os.cpu_count()
    try:
        ram = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM"
    except (ValueError, OSError, AttributeError):  # not every system reports it
        ram = ""
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return (
        f"Machine: {platform.machine()}, {cpus} cores{ram}{load}, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, NumPy {numpy.__version__}; "
        f"run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    )


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section called `name`, keeping every other section as it was."""
    text = DOC.read_text() if DOC.exists() else HEADER
    block = f"<!-- section: {name} -->\n{body.rstrip()}\n<!-- end: {name} -->"
    pattern = re.compile(rf"<!-- section: {re.escape(name)} -->.*?<!-- end: {re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
