"""Partner tasks: the rules of when a request's task may go to its partner, and the job kind
that carries it out on the worker (:mod:`app.worker`)."""
