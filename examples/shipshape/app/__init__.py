"""shipshape example application package."""
