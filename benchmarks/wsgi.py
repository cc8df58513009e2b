"""The app as gunicorn runs it for the benchmarks, plus one endpoint that exists only here.

`/bench/baseline` answers constant JSON without touching the database: it goes through the
same WSGI server, Flask, access rule and response headers as every other request, so the ratio
of an endpoint's throughput to the baseline's says what the endpoint itself costs, whatever
the (shared, noisy) machine happens to be doing. It is never part of the app itself.

    gunicorn "benchmarks.wsgi:app"
"""

from __future__ import annotations

from testengine import access, create_app

app = create_app()


@app.get("/bench/baseline")
def baseline():  # type: ignore[no-untyped-def]
    return {"status": "ok", "answer": 42}


access.public("baseline")
