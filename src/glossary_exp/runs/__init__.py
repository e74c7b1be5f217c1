"""Every run, found and compared from the command line: ``runs``, ``diff`` and ``reproduce``."""
