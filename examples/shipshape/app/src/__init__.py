"""shipshape app: a small HTTP service serving a configurable message."""

from .version import VERSION

__all__ = ["VERSION"]
