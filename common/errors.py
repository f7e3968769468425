"""One error hierarchy: every error a user can fix derives from `AsvError`, so the CLI runner turns each into
one `prog: error: ...` line instead of a traceback."""
from __future__ import annotations


class AsvError(Exception):
    """Base of the errors a user can fix; the message names the file (and line) and the fix."""


class FormatError(AsvError, ValueError):
    """A malformed input file; the message names the file, the line and the fix."""


class ConfigError(AsvError, ValueError):
    """A config that cannot be built; the message names the section, the key and the valid choices."""
