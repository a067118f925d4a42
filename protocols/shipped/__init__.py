"""Protocols that ship with nirpoct (YAML files; see docs/protocols.md)."""
