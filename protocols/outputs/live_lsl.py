"""Lab Streaming Layer outlets of a monitoring run, so lab software records the vitals next
to its other streams.

Two outlets: ``nirpoct-vitals`` (type ``Vitals``, 5 float channels once per second: SpO2 %,
pulse rate beats/min, perfusion index %, signal quality, stale flag; NaN when withheld) and
``nirpoct-ppg`` (type ``PPG``, one float channel per wavelength, mean DN above dark, at the
pattern rate). Samples are stamped with the local LSL clock when sent.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from protocols.events import LiveSamples, LiveVitals, RunEvent
from protocols.outputs.lsl_streams import PPG_STREAM, VITALS_STREAM

logger = logging.getLogger(__name__)

VITALS_CHANNELS = (
    ("spo2", "percent"),
    ("pulse_rate", "bpm"),
    ("perfusion_index", "percent"),
    ("signal_quality", "ratio"),
    ("stale", "bool"),
)


class LslOutlets:
    """Sends monitoring events to LSL outlets (the PPG outlet opens with the first samples).

    Parameters
    ----------
    source_id : str
        Stable id of the source (e.g. the detector's serial), so LSL recorders can reconnect.
    """

    def __init__(self, source_id: str = "nirpoct") -> None:
        import pylsl  # only the runs that ask for LSL load liblsl

        self._lsl = pylsl
        self.source_id = source_id
        info = pylsl.StreamInfo(
            VITALS_STREAM, "Vitals", len(VITALS_CHANNELS), 1.0, "float32", f"{source_id}-vitals"
        )
        channels = info.desc().append_child("channels")
        for label, unit in VITALS_CHANNELS:
            channel = channels.append_child("channel")
            channel.append_child_value("label", label)
            channel.append_child_value("unit", unit)
        self.vitals = pylsl.StreamOutlet(info)
        self.ppg: Any = None

    def __call__(self, event: RunEvent) -> None:
        if isinstance(event, LiveVitals):
            self.vitals.push_sample(
                [
                    event.spo2_percent,
                    event.pulse_rate_bpm,
                    event.perfusion_index_percent,
                    event.signal_quality,
                    float(event.stale),
                ]
            )
        elif isinstance(event, LiveSamples) and event.signals.size:
            if self.ppg is None:
                self.ppg = self._ppg_outlet(event)
            self.ppg.push_chunk(np.asarray(event.signals, dtype=np.float32).tolist())

    def _ppg_outlet(self, event: LiveSamples) -> Any:
        pylsl = self._lsl
        info = pylsl.StreamInfo(
            PPG_STREAM,
            "PPG",
            len(event.wavelengths_nm),
            event.sample_rate_hz,
            "float32",
            f"{self.source_id}-ppg",
        )
        channels = info.desc().append_child("channels")
        for wavelength in event.wavelengths_nm:
            channel = channels.append_child("channel")
            channel.append_child_value("label", f"{wavelength:g}nm")
            channel.append_child_value("unit", "DN")
        return pylsl.StreamOutlet(info)
