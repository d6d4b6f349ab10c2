"""The answer a finished request gets: one response package, built, stored, given out, purged.

``builder`` builds it (the worker's answer job, ``job``, and the first download call it);
``inputs`` reads what it states; ``content`` writes it by type of request, with ``report``
(the human-readable report.html), ``policy`` (the controller's facts) and ``packages`` (the
zip writer); ``store`` keeps it encrypted; ``download`` gives it out; ``purge`` ends it.
"""
