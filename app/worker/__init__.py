"""A generic job runner on the database: claim, execute, record, sleep until woken.

Nothing here knows what a job means. A kind (:mod:`app.worker.kinds`) says what is due and
how to carry one out; the runner (:mod:`app.worker.runner`) paces them (:mod:`.pacing`),
leases (:mod:`.lease`), retries (:mod:`.retry`), wakes (:mod:`.wakeup`), runs periodic jobs
(:mod:`.periodic`) and writes outcomes in group commits (:mod:`.recorder`).
"""
