"""The 409s, one problem type per situation, so a caller tells apart what stopped its action.

All are :class:`~app.errors.kinds.InvalidState` (an action the request's or the task's state
does not allow), which stays the base to catch and the type of a status a transition does not
allow. Each keeps the detail text its raise site writes; the slug says which situation it is.
"""

from __future__ import annotations

from app.errors.kinds import InvalidState


class RequestClosing(InvalidState):
    slug, title = "request-closing", "The request is being closed"
    meaning = ("A reject or cancel is waiting for work already sent to partners; until it is "
               "final the request takes no other action.")


class RequestNotFinished(InvalidState):
    slug, title = "request-not-finished", "The request is not finished"
    meaning = ("The response exists once the request is finished (for a restriction being "
               "lifted, once its notice letter is built).")


class ExtensionLimitReached(InvalidState):
    slug, title = "extension-limit-reached", "No further extension allowed"
    meaning = ("A request may be extended by two further months in all (art. 12(3)); this one "
               "has none left.")


class ExtensionTooLate(InvalidState):
    slug, title = "extension-too-late", "Too late to extend"
    meaning = ("An extension must be decided and told to the customer within one month of "
               "receipt (art. 12(3)).")


class NotARestriction(InvalidState):
    slug, title = "not-a-restriction", "Only a restriction can be lifted"
    meaning = "Lifting applies to a restriction request only."


class AlreadyLifted(InvalidState):
    slug, title = "already-lifted", "The restriction is lifted already"
    meaning = "The restriction's lift was asked for before; it is lifted, or being lifted."


class NoticeLetterNotReady(InvalidState):
    slug, title = "notice-letter-not-ready", "The notice letter is not built yet"
    meaning = ("A restriction's lift waits for its notice letter (art. 18(3)), which is being "
               "built; try again shortly.")


class NoticeOutcomeNotDone(InvalidState):
    slug, title = "notice-outcome-not-done", "A lift notice is completed with outcome done"
    meaning = ("The lift notice task is completed by hand only to say the letter was sent to "
               "the customer (outcome done).")


class TaskNotRetryable(InvalidState):
    slug, title = "task-not-retryable", "Only a failed task can be retried"
    meaning = "The task has not failed, so there is no round to send again."


class TaskNotCompletable(InvalidState):
    slug, title = "task-not-completable", "Only a manual or failed task can be completed"
    meaning = ("The task is not waiting for a person (it is queued, with a partner, or "
               "final), so it is not completed by hand.")


class RetainedItemsMissing(InvalidState):
    slug, title = "retained-items-missing", "A retained outcome lists what is kept"
    meaning = "An outcome retained must list each item kept, with its legal basis and date."


class DecisionRequired(InvalidState):
    slug, title = "decision-required", "An objection's assessment needs a decision"
    meaning = ("Completing an objection's assessment (assess_objection) needs the decision: "
               "upheld or overridden.")


class DecisionNotApplicable(InvalidState):
    slug, title = "decision-not-applicable", "A decision is for an objection's assessment only"
    meaning = "A decision was given when completing a task other than an objection's assessment."
