"""Defaults of the analysis options that the command line shows in its help.

Kept apart from the analyses (which load numpy, SciPy and h5py) so that parsing arguments
stays light.
"""

from __future__ import annotations

DEFAULT_DPF = 6.0
"""Differential pathlength factor used when neither a DPF nor an age is given."""
