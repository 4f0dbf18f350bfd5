"""Self-checking exercises for the lessons.

Every exercise asks for a function. A checker calls it on a few cases and
compares the answers with the package's reference formula:

* all answers right: prints ``Correct: ...``;
* the function still raises ``NotImplementedError`` (the student release's
  stub): prints ``... not attempted yet``, so a student notebook still runs
  top to bottom; under nbgrader (:data:`AUTOGRADER_ENV` set) it raises
  :class:`CheckFailed` instead, so the exercise scores 0 (:func:`not_attempted`);
* a wrong answer: raises :class:`CheckFailed` (an ``AssertionError``). When
  the answer matches a classic mistake, the message names the mistake and
  gives a hint.

Each lesson's checkers live in ``checks/lessonNN.py``, built on
:func:`check_function`; they are all re-exported here, so a lesson calls
``checks.check_conv_macs(...)``.
"""

from mobilecourse.checks import (
    _core,
    lesson00,
    lesson01,
    lesson02,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson07,
    lesson08,
    lesson09,
)
from mobilecourse.checks._core import *  # noqa: F403
from mobilecourse.checks.lesson00 import *  # noqa: F403
from mobilecourse.checks.lesson01 import *  # noqa: F403
from mobilecourse.checks.lesson02 import *  # noqa: F403
from mobilecourse.checks.lesson03 import *  # noqa: F403
from mobilecourse.checks.lesson04 import *  # noqa: F403
from mobilecourse.checks.lesson05 import *  # noqa: F403
from mobilecourse.checks.lesson06 import *  # noqa: F403
from mobilecourse.checks.lesson07 import *  # noqa: F403
from mobilecourse.checks.lesson08 import *  # noqa: F403
from mobilecourse.checks.lesson09 import *  # noqa: F403

__all__ = [
    *_core.__all__,
    *lesson00.__all__,
    *lesson01.__all__,
    *lesson02.__all__,
    *lesson03.__all__,
    *lesson04.__all__,
    *lesson05.__all__,
    *lesson06.__all__,
    *lesson07.__all__,
    *lesson08.__all__,
    *lesson09.__all__,
]
