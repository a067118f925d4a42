from protocols.cli import run

run()
