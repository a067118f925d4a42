"""Names of the Lab Streaming Layer outlets a monitoring run opens (``nirpoct run --lsl``)."""

VITALS_STREAM = "nirpoct-vitals"
"""Once per second: SpO2 (%), pulse rate (bpm), perfusion index (%), signal quality, stale."""
PPG_STREAM = "nirpoct-ppg"
"""The per-wavelength PPG signals as they are sampled."""
