"""One exception tree for everything vlmcompat reports to a user.

    VlmcompatError                          base; str(e) is one line: what happened, what to do
    ├── UsageError(ValueError)              bad command-line input               -> exit 2
    ├── InputFileError(ValueError)          a file we were asked to read is bad  -> exit 2
    │   ├── MatrixError                     matrix.toml problems, with file:line
    │   └── ResultsError                    a results/baseline JSON we cannot use
    ├── PatchError(RuntimeError)            a patch cannot be applied/reverted
    ├── ForwardInputError(ValueError)       a caller passed inputs the patched forward refuses
    ├── MigrationError(ValueError)          a tokenizer.json or adapter cannot be migrated losslessly
    └── EnvironmentProblem(RuntimeError)    the environment cannot do what was asked

Every class also subclasses the matching builtin, so ``except ValueError`` keeps working
for callers that do not know about vlmcompat.
"""

from __future__ import annotations


class VlmcompatError(Exception):
    """Base class. The message is a single line meant for the user."""

    exit_code = 1


class UsageError(VlmcompatError, ValueError):
    exit_code = 2


class InputFileError(VlmcompatError, ValueError):
    exit_code = 2


class MatrixError(InputFileError):
    """A problem in matrix.toml; the message starts with ``path:line:``."""


class ResultsError(InputFileError):
    """A results or baseline JSON that cannot be used."""


class PatchError(VlmcompatError, RuntimeError):
    pass


class ForwardInputError(VlmcompatError, ValueError):
    pass


class MigrationError(VlmcompatError, ValueError):
    pass


class EnvironmentProblem(VlmcompatError, RuntimeError):
    pass
