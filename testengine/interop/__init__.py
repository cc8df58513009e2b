"""Question banks in from other tools' formats (GIFT, Moodle XML, QTI 2.1/3.0) and out to QTI 3.0 and Moodle XML.

The converters never write to the database: they write bank files (docs/bank-format.md) that a
reviewer reads, `bank validate` checks and `bank import` loads, so the reviewed files stay the
single source of truth. docs/interop.md says what maps to what.
"""

from .convert import FORMATS, Conversion, convert
from .safe_io import Limits, SourceError

__all__ = ["FORMATS", "Conversion", "Limits", "SourceError", "convert"]
