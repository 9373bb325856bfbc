"""Exercises that check themselves.

An exercise is a cell the learner edits (a SQL string, a number, ...) and a check that runs each
time it changes, in the lesson itself. The check compares the answer with an oracle the answer
cannot copy (PostgreSQL's own result, the catalog's metadata, PyIceberg's reading of a snapshot)
and says ✅, or ❌ with a hint at what differs, or "not done yet" while the answer is empty. The
worked answer waits in an accordion.

The suite runs every lesson as shipped with `LESSON_ANSWERS=all`: each check then judges, in
that one run, the answer as shipped (not done yet), the worked answer (correct) and a wrong one
(not yet right): a check that cannot fail fails the suite. `LESSON_ANSWERS=worked|wrong` puts
one of them in place of every answer, for a run by hand.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

ANSWERS_VARIABLE = "LESSON_ANSWERS"
ALL = "all"  # check the answer as given, the worked one and the wrong one, in one run
TODO, OK, WRONG = "not done yet", "correct", "not yet right"
_MARK = {TODO: "⏳", OK: "✅", WRONG: "❌"}


@dataclass(frozen=True)
class Verdict:
    key: str
    status: str  # TODO, OK or WRONG
    message: str

    @property
    def line(self) -> str:
        return f"exercise {self.key}: {_MARK[self.status]} {self.status}: {self.message}"


@dataclass(frozen=True)
class Exercise:
    """One exercise: `check(answer, **context)` returns None when right, else a hint."""

    key: str  # e.g. "00.1"
    title: str
    check: Callable[..., str | None]
    worked: object  # the worked answer (what the accordion shows, and the suite feeds)
    wrong: object  # a plausible wrong answer the check must refuse
    explanation: str = ""
    # when the answer depends on the data (a row count): worked and wrong, from the context
    solve: Callable[..., object] | None = field(default=None)
    mistake: Callable[..., object] | None = field(default=None)

    def _chosen(self, wanted: str, given: object, context: dict) -> object:
        if wanted == "worked":
            return self.solve(**context) if self.solve else self.worked
        if wanted == "wrong":
            return self.mistake(**context) if self.mistake else self.wrong
        return given

    def answer(self, given: object, **context) -> object:
        """The learner's answer, or the worked or wrong one when the suite asks for it."""
        return self._chosen(os.environ.get(ANSWERS_VARIABLE, ""), given, context)

    def verdict(self, given: object, **context) -> Verdict:
        return self._judge(self.key, self.answer(given, **context), context)

    def verdicts(self, given: object, **context) -> list[Verdict]:
        """The answer as given, then the worked one (`<key>@worked`) and the wrong one
        (`<key>@wrong`), each checked in the same lesson run (`LESSON_ANSWERS=all`)."""
        return [self._judge(self.key, given, context)] + [
            self._judge(f"{self.key}@{kind}", self._chosen(kind, given, context), context)
            for kind in ("worked", "wrong")
        ]

    def _judge(self, key: str, answer: object, context: dict) -> Verdict:
        if answer is None or (isinstance(answer, str) and not answer.strip()):
            return Verdict(key, TODO, "waiting for your answer above")
        try:
            hint = self.check(answer, **context)
        except Exception as exc:  # the learner's SQL or code failed: say how, not a traceback
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            return Verdict(key, WRONG, f"it failed: {type(exc).__name__}: {first[:300]}")
        if hint is None:
            return Verdict(key, OK, "right: it matches what the tables hold")
        return Verdict(key, WRONG, hint)

    def show(self, given: object, **context):
        """The verdict as a callout with the worked answer below it (printed too when the lesson
        runs as a script, where the suite reads it)."""
        import marimo as mo  # lazy: only a lesson shows exercises

        found = self.verdict(given, **context)
        if not mo.running_in_notebook():  # a script: the suite reads these lines
            every = os.environ.get(ANSWERS_VARIABLE) == ALL
            for said in self.verdicts(given, **context) if every else [found]:
                print(said.line, flush=True)
        kind = {TODO: "neutral", OK: "success", WRONG: "danger"}[found.status]
        shown = self.worked if isinstance(self.worked, str) else None
        if shown is None and self.worked is not None and not isinstance(self.worked, type):
            shown = repr(self.worked)
        answer = (f"```\n{shown}\n```\n\n" if shown else "") + self.explanation
        said = mo.md(f"**{_MARK[found.status]} {self.title}**: {found.message}")
        return mo.vstack([mo.callout(said, kind=kind),
                          mo.accordion({"the worked answer": mo.md(answer)})])  # fmt: skip
