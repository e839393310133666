"""Benchmarks of the package's detectors on third-party labelled data (see ``adbench``)."""
