"""Errors a user can act on: each carries one line naming the field or file at fault."""


class GanPipelineError(Exception):
    """Base class: the message is a single line meant for the user, not a traceback."""


class ConfigError(GanPipelineError, ValueError):
    """A config key or value is not allowed."""


class DataError(GanPipelineError, ValueError):
    """A dataset file is missing, empty, truncated, of the wrong shape or not finite."""


class CheckpointError(GanPipelineError, RuntimeError):
    """A checkpoint is unreadable, tampered with, or from an incompatible config."""


class DivergenceError(GanPipelineError, RuntimeError):
    """Training produced NaN or Inf; the last good checkpoint is kept."""


class OutputError(GanPipelineError):
    """An output file or directory cannot be written (permissions, a file in the way, disk full)."""


class ParameterError(GanPipelineError, ValueError):
    """A flow parameter names a path outside the project, or a name that is not a slug."""
