"""Exercises that check themselves.

An exercise is a cell the learner edits (a SQL string, a number, ...) and a check that runs each
time it changes, in the lesson itself. The check compares the answer with an oracle the answer
cannot copy (PostgreSQL's own result, the catalog's metadata, PyIceberg's reading of a snapshot)
and says ✅, or ❌ with a hint at what differs, or "not done yet" while the answer is empty. The
worked answer waits in an accordion.

The suite runs every lesson as shipped with `LESSON_ANSWERS=all`: each check then judges, in
that one run, the answer as shipped (not done yet), the worked answer (correct) and a wrong one
(not yet right): a check that cannot fail fails the suite. The worked and wrong answers are
literal values: the exercise's own, or, where the answer depends on the data (a row count, the
months a day changed), the ones the suite passes as JSON in `LESSON_ANSWERS_GIVEN`
(`{"04.2": {"worked": 1234, "wrong": 5678}}`); an exercise with neither is judged only as
shipped in that run. `LESSON_ANSWERS=worked|wrong` puts one of them in place of every answer,
for a run by hand.

A check that raises is a fault of the check, not of the answer: it says "⚠ the check itself
failed", which no test accepts. What the learner wrote (a query, a class) runs inside
`run_answer`, so its failure is a ❌ saying how it failed.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

ANSWERS_VARIABLE = "LESSON_ANSWERS"
GIVEN_VARIABLE = "LESSON_ANSWERS_GIVEN"  # JSON: key → {"worked": ..., "wrong": ...}
ALL = "all"  # check the answer as given, the worked one and the wrong one, in one run
TODO, OK, WRONG = "not done yet", "correct", "not yet right"
BROKEN = "the check itself failed"
_MARK = {TODO: "⏳", OK: "✅", WRONG: "❌", BROKEN: "⚠"}


class AnswerFailed(Exception):
    """The learner's answer raised when the check ran it; the message says how, in one line."""


def one_line(exc: BaseException) -> str:
    """`Type: first line of the message`, at most 300 characters."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:300]}".rstrip(": ")


def run_answer(function: Callable, *args, **kwargs):
    """Run what the learner wrote (their query, their class); its failure is theirs to fix."""
    try:
        return function(*args, **kwargs)
    except Exception as exc:  # whatever their code raises, said in one line
        raise AnswerFailed(one_line(exc)) from exc


def whole(answer: object) -> bool:
    """A whole number (an int, or a float or text without a fraction), as a count must be."""
    try:
        number = float(answer)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and number == int(number)


def given(key: str, kind: str) -> object:
    """The worked or wrong answer the suite passed for `key` (`LESSON_ANSWERS_GIVEN`), or None."""
    text = os.environ.get(GIVEN_VARIABLE, "")
    return json.loads(text).get(key, {}).get(kind) if text else None


@dataclass(frozen=True)
class Verdict:
    key: str
    status: str  # TODO, OK, WRONG or BROKEN
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
    wrong: object  # a wrong answer of the right shape the check must refuse on its values
    explanation: str = ""
    # when the answer depends on the data (a row count): the worked one for a run by hand
    # (`LESSON_ANSWERS=worked`); the suite never feeds it (its answers are literal)
    solve: Callable[..., object] | None = field(default=None)

    def _literal(self, kind: str) -> object:
        fed = given(self.key, kind)
        return fed if fed is not None else getattr(self, kind)

    def _chosen(self, wanted: str, answer: object, context: dict) -> object:
        if wanted == "worked":
            literal = self._literal("worked")
            return self.solve(**context) if literal is None and self.solve else literal
        if wanted == "wrong":
            return self._literal("wrong")
        return answer

    def answer(self, answer: object, **context) -> object:
        """The learner's answer, or the worked or wrong one when the suite asks for it."""
        return self._chosen(os.environ.get(ANSWERS_VARIABLE, ""), answer, context)

    def verdict(self, answer: object, **context) -> Verdict:
        return self._judge(self.key, self.answer(answer, **context), context)

    def verdicts(self, answer: object, **context) -> list[Verdict]:
        """The answer as given, then the literal worked one (`<key>@worked`) and wrong one
        (`<key>@wrong`), each checked in the same lesson run (`LESSON_ANSWERS=all`); an
        exercise without literal answers is judged as given only."""
        found = [self._judge(self.key, answer, context)]
        for kind in ("worked", "wrong"):
            literal = self._literal(kind)
            if literal is not None:
                found.append(self._judge(f"{self.key}@{kind}", literal, context))
        return found

    def _judge(self, key: str, answer: object, context: dict) -> Verdict:
        if answer is None or (isinstance(answer, str) and not answer.strip()):
            return Verdict(key, TODO, "waiting for your answer above")
        try:
            hint = self.check(answer, **context)
        except AnswerFailed as exc:  # the learner's query or code: say how, not a traceback
            return Verdict(key, WRONG, f"your answer failed: {exc}")
        except Exception as exc:  # the check's own fault: never shown as a wrong answer
            return Verdict(key, BROKEN, one_line(exc))
        if hint is None:
            return Verdict(key, OK, "right: it matches what the tables hold")
        return Verdict(key, WRONG, hint)

    def show(self, answer: object, **context):
        """The verdict as a callout with the worked answer below it (printed too when the lesson
        runs as a script, where the suite reads it)."""
        import marimo as mo  # lazy: only a lesson shows exercises

        found = self.verdict(answer, **context)
        if not mo.running_in_notebook():  # a script: the suite reads these lines
            every = os.environ.get(ANSWERS_VARIABLE) == ALL
            for said in self.verdicts(answer, **context) if every else [found]:
                print(said.line, flush=True)
        kind = {TODO: "neutral", OK: "success", WRONG: "danger", BROKEN: "warn"}[found.status]
        shown = self.worked if isinstance(self.worked, str) else None
        if shown is None and self.worked is not None and not isinstance(self.worked, type):
            shown = repr(self.worked)
        worked = (f"```\n{shown}\n```\n\n" if shown else "") + self.explanation
        broken = f"{BROKEN}: " if found.status == BROKEN else ""
        said = mo.md(f"**{_MARK[found.status]} {self.title}**: {broken}{found.message}")
        return mo.vstack([mo.callout(said, kind=kind),
                          mo.accordion({"the worked answer": mo.md(worked)})])  # fmt: skip


def query_box(placeholder: str, rows: int = 6):
    """The box a learner types a query into, the same in every lesson."""
    import marimo as mo  # lazy: only a lesson shows exercises

    return mo.ui.text_area(placeholder=placeholder, rows=rows, label="your query", full_width=True)
