"""The fast lane: the apprentice's sitting requests, checked by a signed attempt capability.

The busiest requests of an exam day (autosave, flag, browser events, the clock, the navigator and
the question fetch) neither load the user through Flask-Login nor the attempt through the ORM.
The test page hands the browser a capability (`capability.py`) naming the attempt, the user, the
user's session version and the browser token, signed with the app's secret. Each request then
runs the least SQL it can through SQLAlchemy Core (`statements.py`), and every check that can be
revoked (the account, the session version, the attempt's state and deadline, the browser token) is
a condition of the statement itself, so a logout, a password reset, a role change or a newer
window takes effect at once. CSRF stays: the capability is a header, not a cookie.
"""
