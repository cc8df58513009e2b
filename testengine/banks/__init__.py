"""Reading, checking and writing the files in question_banks/: pure Python, no Flask, no database.

A standard is a folder: spec.yaml (the standard as data) and questions/*.yaml (its bank). The
format is docs/bank-format.md; every problem is reported as FILE:LINE: message, all of them.
"""

from .loader import (
    BankValidationError,
    LoadedStandard,
    Problem,
    load_standard,
    parse_spec,
    validate_standard,
)
from .questions import BankQuestion
from .writer import write_standard

__all__ = [
    "BankQuestion",
    "BankValidationError",
    "LoadedStandard",
    "Problem",
    "load_standard",
    "parse_spec",
    "validate_standard",
    "write_standard",
]
