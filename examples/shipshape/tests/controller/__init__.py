"""shipshape example test suite."""
