"""shipshape controller: restarts Deployments when their labelled ConfigMaps change."""

from .version import VERSION

__all__ = ["VERSION"]
