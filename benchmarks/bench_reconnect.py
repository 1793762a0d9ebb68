"""Reconnect at scale: time to re-subscribe and reconcile after a dropped connection.

Run: ``.venv/bin/python benchmarks/bench_reconnect.py [--quick] [--json] [--scale 3000x150]``.

The measurement lives in ``bench_startup.py`` (the same child process sets the entry up, then the simulator aborts
the connection): the time from the abort until the client has re-subscribed every user and queue and every entity
is available again, against the same floor (adding the same entities from memory), and until the reconcile ran.
This script prints the reconnect rows only.
"""

from __future__ import annotations

import bench_startup

if __name__ == "__main__":
    bench_startup.main(reconnect_only=True)
