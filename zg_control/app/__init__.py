"""The ``zg-control`` command: parser, run configuration, run directories, checkpoints, plots."""
