"""``python -m novareel`` runs the command line."""

from novareel.cli import main

main()
