"""The live view's maps: the latest imaging-PPG and StO2 maps of the running step, on a fixed
colour range per quantity, withheld cells grey, over the pixels they cover; in either language;
and during a whole tissue-oxygenation run on the simulated instrument."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from gui.i18n import Languages
from gui.instrument_session import InstrumentSession
from gui.live_buffer import LiveBuffer
from gui.live_maps_view import NO_MAP_COLOUR, map_name
from gui.live_view import LiveView
from instrument.config import load_config, simulated
from instrument.live_data import LiveData, LiveMaps
from instrument.run_record import read_run_record
from protocols.events import RunFinished
from tests.calibration_fixtures import approved_record, make_registry
from tests.gui_texts import plot_texts, untranslated, visible_texts
from tests.test_gui_runs import RUN_TIMEOUT_MS, open_window, select
from tests.test_live_maps import runner_truth

pytestmark = pytest.mark.timeout(240)

SENSOR_PX = 64
"""Side of the recorded frame, pixels."""


def live_maps(sto2_percent: float = 62.0, time_s: float = 12.0) -> LiveMaps:
    """Maps as a four-wavelength step sends them: StO2 in 8 × 8 cells of 8 pixels (the cells
    by the LED withheld), imaging PPG in 16 × 16 cells of 4 pixels (a quarter withheld)."""
    rng = np.random.default_rng(0)
    sto2 = sto2_percent + rng.normal(0.0, 2.0, (8, 8))
    sto2[:2, :3] = np.nan
    spo2 = 97.0 + rng.normal(0.0, 1.0, (16, 16))
    spo2[8:, 8:] = np.nan
    hbt = 40.0 + rng.normal(0.0, 5.0, (8, 8))
    hbt[:2, :3] = np.nan
    maps = {
        "ppg_spo2_percent": spo2,
        "ppg_perfusion_index_percent": np.full((16, 16), 1.5),
        "ppg_signal_quality": np.full((16, 16), 0.8),
        "sto2_percent": sto2,
        "toi_percent": sto2 + 1.0,
        "hbt_um": hbt,
    }
    cell_px = {name: (4 if name.startswith("ppg_") else 8) for name in maps}
    window = {name: (time_s - 12.0, time_s) for name in maps}
    figures = {name: float(np.nanmedian(values)) for name, values in maps.items()}
    return LiveMaps("reflectance", time_s, maps, cell_px, window, figures)


def test_the_buffer_keeps_the_latest_maps_until_the_next_run():
    buffer = LiveBuffer()
    first, second = live_maps(time_s=5.0), live_maps(time_s=10.0)
    buffer.push(LiveData(5.0, {}, None, {}, maps=first))
    buffer.push(LiveData(5.1, {940.0: np.ones(3)}, np.zeros((4, 4)), {}))  # no refresh
    assert buffer.take().maps is first
    buffer.push(LiveData(10.0, {}, None, {}, maps=second))
    assert buffer.take().maps is second
    buffer.clear()  # a new run
    buffer.push(LiveData(0.1, {940.0: np.ones(3)}, np.zeros((4, 4)), {}))
    assert buffer.take().maps is None


@pytest.fixture
def view(qtbot):
    config, text = load_config(None)
    live = LiveBuffer()
    session = InstrumentSession(simulated(config), text, live)
    view = LiveView(live, session)
    qtbot.addWidget(view)
    return view


def drawn_rect(panel) -> tuple[float, float, float, float]:
    """(x, y, width, height) of the map in the plot's coordinates (recorded pixels)."""
    rect = panel.image.mapRectToParent(panel.image.boundingRect())
    return rect.x(), rect.y(), rect.width(), rect.height()


def test_the_live_view_draws_the_selected_map_on_its_fixed_range(qtbot, view):
    panel = view.map_panel
    view.live.push(LiveData(0.1, {940.0: np.ones(5)}, np.full((64, 64), 1000.0), {}))
    view.redraw()
    assert not panel.placeholder.isHidden() and panel.selector.isHidden()
    assert panel.placeholder.text().startswith("No map yet")

    maps = live_maps()
    view.live.push(LiveData(12.0, {}, None, {}, maps=maps))
    view.redraw()
    assert panel.placeholder.isHidden() and not panel.selector.isHidden()
    assert [panel.selector.itemText(i) for i in range(panel.selector.count())] == [
        "StO2 (%)",
        "TOI (%)",
        "Total haemoglobin HbT (µM)",
        "SpO2, imaging PPG (%)",
        "Perfusion index, imaging PPG (%)",
        "Signal quality, imaging PPG (0–1)",
    ]
    # StO2 first: its values as sent (withheld cells NaN), on 40–90 %, over the whole frame.
    assert panel.selected == "sto2_percent"
    np.testing.assert_array_equal(panel.image.image, maps.maps["sto2_percent"])
    assert tuple(panel.colour_bar.levels()) == (40.0, 90.0)
    np.testing.assert_allclose(panel.image.getLevels(), (40.0, 90.0))
    assert drawn_rect(panel) == (0.0, 0.0, SENSOR_PX, SENSOR_PX)
    # Withheld cells are transparent over the grey behind the map; the others opaque.
    panel.image.render()
    picture = panel.image.qimage
    assert (picture.width(), picture.height()) == (8, 8)
    assert picture.pixelColor(0, 0).alpha() == 0  # row 0, column 0: withheld
    assert picture.pixelColor(5, 5).alpha() == 255
    assert panel.extent.brush().color().name() == NO_MAP_COLOUR
    extent = panel.extent.rect()
    assert (extent.width(), extent.height()) == (SENSOR_PX, SENSOR_PX)
    assert panel.extent.zValue() < panel.image.zValue()
    median = maps.figures["sto2_percent"]
    assert panel.caption.text() == (
        f"Step reflectance, cells of 8 × 8 pixels, frames of 0.0–12.0 s, median {median:.1f} %"
    )

    ranges = {
        "toi_percent": (40.0, 90.0),
        "ppg_spo2_percent": (70.0, 100.0),
        "ppg_perfusion_index_percent": (0.0, 5.0),
        "ppg_signal_quality": (0.0, 1.0),
    }
    for name, levels in ranges.items():
        panel.select(name)
        np.testing.assert_array_equal(panel.image.image, maps.maps[name])
        assert tuple(panel.colour_bar.levels()) == levels, name
        assert drawn_rect(panel) == (0.0, 0.0, SENSOR_PX, SENSOR_PX)
    assert panel.caption.text().endswith("median 0.80")  # quality: no unit
    # HbT has no fixed range: that of its values.
    panel.select("hbt_um")
    hbt = maps.maps["hbt_um"]
    np.testing.assert_allclose(panel.colour_bar.levels(), (np.nanmin(hbt), np.nanmax(hbt)))
    assert panel.caption.text().endswith(f"median {maps.figures['hbt_um']:.1f} µM")

    # The next refresh keeps the chosen map; a new run starts without one.
    panel.select("ppg_spo2_percent")
    later = live_maps(sto2_percent=70.0, time_s=17.0)
    view.live.push(LiveData(17.0, {}, None, {}, maps=later))
    view.redraw()
    assert panel.selected == "ppg_spo2_percent"
    np.testing.assert_array_equal(panel.image.image, later.maps["ppg_spo2_percent"])
    assert "frames of 5.0–17.0 s" in panel.caption.text()
    view.live.clear()
    view.live.push(LiveData(0.1, {940.0: np.ones(5)}, np.full((64, 64), 1000.0), {}))
    view.redraw()
    assert panel.maps is None and not panel.placeholder.isHidden()


def test_the_maps_speak_chinese(qtbot, view):
    panel = view.map_panel
    languages = Languages(QApplication.instance())
    languages.set("zh_CN")
    try:
        qtbot.waitUntil(lambda: not panel.placeholder.text().startswith("No map"), timeout=5000)
        assert untranslated(visible_texts(view), set()) == []
        view.live.push(LiveData(12.0, {}, None, {}, maps=live_maps()))
        view.redraw()
        assert panel.selector.itemText(0) == "组织氧饱和度 StO2 (%)"
        for index in range(panel.selector.count()):  # every map's name, title and caption
            panel.selector.setCurrentIndex(index)
            texts = visible_texts(view)
            assert panel.selector.currentText() in texts and panel.caption.text() in texts
            assert map_name(panel.selected) in plot_texts(panel.plot_widget)
            assert untranslated(texts, {"reflectance"}) == [], untranslated(texts, {"reflectance"})
        assert panel.caption.text().startswith("步骤 reflectance，每格 4 × 4 像素")
    finally:
        languages.set("en")
    qtbot.waitUntil(lambda: panel.caption.text().startswith("Step"), timeout=5000)
    assert panel.selector.itemText(0) == "StO2 (%)"


def test_a_tissue_oxygenation_run_shows_its_maps_while_it_runs(qtbot, tmp_path):
    registry = make_registry(tmp_path / "registry")
    approved_record(registry)
    window = open_window(qtbot, registry, tmp_path, duration_scale=0.4, simulator={"speed": 3.0})
    live, runner = window.live_view, window.runner_view
    window.tabs.setCurrentWidget(live)
    panel = live.map_panel
    assert not panel.placeholder.isHidden()
    finished: list[RunFinished] = []
    window.run_worker.run_event.connect(
        lambda event: isinstance(event, RunFinished) and finished.append(event)
    )
    select(qtbot, runner, "tissue-oxygenation-map")
    runner.operator.setText("lab-wang")
    with qtbot.waitSignal(runner.run_finished, timeout=RUN_TIMEOUT_MS) as outcome:
        runner.start_button.click()

        def map_shown() -> bool:
            live.redraw()
            return panel.maps is not None

        qtbot.waitUntil(map_shown, timeout=RUN_TIMEOUT_MS)
        assert not finished  # during the run, after its first 5 s of reflectance
        first = panel.maps
        assert first.step == "reflectance" and first.time_s < 12.0
        assert panel.selected == "sto2_percent" and panel.placeholder.isHidden()
    record = read_run_record(outcome.args[0].finished.record_path)
    assert record.metadata["status"] == "completed"
    live.redraw()
    final = panel.maps
    assert final.time_s == pytest.approx(12.0, abs=0.5)
    # The drawn StO2 map is the one the sto2 analysis stored, its median near the tissue's.
    analysed = record.results["sto2"]["sto2_map_percent"]
    np.testing.assert_allclose(panel.image.image, analysed, rtol=1e-9, equal_nan=True)
    truth = runner_truth()
    assert abs(final.figures["sto2_percent"] - truth["sto2_percent"]) < 3.0
    assert f"median {final.figures['sto2_percent']:.1f} %" in panel.caption.text()
    assert drawn_rect(panel) == (0.0, 0.0, SENSOR_PX, SENSOR_PX)
    panel.select("ppg_spo2_percent")
    assert abs(final.figures["ppg_spo2_percent"] - truth["spo2_percent"]) < 3.0
    assert tuple(panel.colour_bar.levels()) == (70.0, 100.0)
    window.close()
