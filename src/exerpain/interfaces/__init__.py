"""User interfaces: the command line, output files and the demo."""
