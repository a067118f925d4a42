"""Pure functions on numpy arrays: correction, oximetry, NIRS, DOT, segmentation."""
