"""The extract's one error type, below every extract module that raises it."""


class ExtractError(RuntimeError):
    """An extraction cannot run; the message names the problem and what to do."""
