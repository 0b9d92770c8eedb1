"""
Media in worker processes (``CALLS_SFU=workers``): how Daphne processes and SFU workers find each other.

Each session is hosted by one worker (``manage.py runsfu``), the least loaded live
one when its media starts, recorded on the session where every process sees it
(``placement``). Daphne processes talk to it through the channel layer with the
messages of ``messages`` (``remote.RemoteSFU``, the same calls as the embedded SFU);
the worker runs the ordinary SFU and sends what it says to each participant back
to the Daphne process serving it (``worker``). Workers heartbeat through the
database; when one dies, every process moves its participants in the sessions
that worker hosted: they join again, and the join places the session anew.
"""
