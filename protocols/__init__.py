"""Assay protocols, the protocol runner and the nirpoct command line."""
