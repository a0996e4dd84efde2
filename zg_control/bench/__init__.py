"""The comparison harness: the suite of named problems, the runner, the report and its
statistics."""
