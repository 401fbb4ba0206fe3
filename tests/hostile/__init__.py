"""The hostile-input suite of the ``descentlab`` command (issue 12): case definitions and the harness.

:mod:`tests.hostile.harness` runs one command line in a subprocess under a memory limit and a
timeout, in a fresh working directory, and says what it did (exit status, stderr, time, peak memory,
files created or changed); :mod:`tests.hostile.cases` defines the cases, each with the files it needs.
``tests/test_hostile_cli.py`` runs them and asserts the contract of the README.
"""
