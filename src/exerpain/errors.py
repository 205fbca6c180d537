"""Errors shown to users as one clear line."""


class InputError(ValueError):
    """Bad user input: the message names the field and what is allowed."""
