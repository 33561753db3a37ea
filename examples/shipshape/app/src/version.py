"""Single source of the app's release version (kept coherent by hack/validate_release_metadata.py)."""

VERSION = "0.2.2"
