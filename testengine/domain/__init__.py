"""The rules of end-point assessment as plain Python: no Flask, no SQLAlchemy.

Every function here takes values (and `now` where time matters) and returns values or
raises a DomainError. A test keeps this package free of web and database imports.
"""
