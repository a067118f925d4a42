from protocols.cli import entry

entry()
