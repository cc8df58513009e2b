"""`python -m testengine ...`: the same as the `testengine` command (scripts/demo uses it)."""

from .cli import main

main(prog_name="testengine")
