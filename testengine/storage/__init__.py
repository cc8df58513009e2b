"""Storage: engines per database, the SQLite writers' queue, group commit and the transaction policy.

Services flush and never commit. What commits: the request edge (`storage.requests`, once per
request), the command-line tools, and the storage code here (group commit's writer thread, and a
write that must stand apart from its request, `requests.write_apart`).
"""

from __future__ import annotations

from .group_commit import GroupCommitTimeout, committer_for, run_write
from .policy import reads_then_writes, write_lock, write_transaction
from .unavailable import PAGE_MESSAGE, RETRY_AFTER_SECONDS, SAVE_RETRY_MESSAGE, is_unavailable

__all__ = [
    "PAGE_MESSAGE",
    "RETRY_AFTER_SECONDS",
    "SAVE_RETRY_MESSAGE",
    "GroupCommitTimeout",
    "committer_for",
    "is_unavailable",
    "reads_then_writes",
    "run_write",
    "write_lock",
    "write_transaction",
]
