"""Single source of the controller's release version (kept coherent by hack/validate_release_metadata.py)."""

VERSION = "0.2.2"
