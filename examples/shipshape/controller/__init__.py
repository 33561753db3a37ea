"""shipshape example ConfigMap-reload controller package."""
