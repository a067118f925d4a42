"""Analyses: one module per analysis, each exporting ``ANALYSIS`` (an
:class:`protocols.schema.AnalysisKind`) for the ``analyse`` step, which lists them."""
