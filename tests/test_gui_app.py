"""The desktop app offscreen: instrument panel and live view on the simulated instrument,
calibration browser on a real registry, language switching."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses
import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from pypdf import PdfReader
from PySide6.QtCore import QTimer, QTranslator
from PySide6.QtWidgets import QApplication

import gui
from gui.app import make_context
from gui.errors import install_excepthook
from gui.i18n import TRANSLATIONS_DIR, Languages
from gui.main_window import MainWindow
from instrument.run_record import read_run_record
from tests.calibration_fixtures import PASSWORDS, approved_record, make_content, make_registry
from tests.gui_texts import untranslated, visible_texts
from tests.test_gui_runs import approved_spo2_curve

OPEN_TIMEOUT_MS = 60_000


@pytest.fixture
def registry(tmp_path):
    return make_registry(tmp_path / "registry")


@pytest.fixture
def window(qtbot, tmp_path, registry):
    context = make_context(None, True, registry.root, tmp_path / "runs")
    languages = Languages(QApplication.instance())
    main = MainWindow(context, languages)
    qtbot.addWidget(main)
    main.show()
    yield main
    main.close()
    languages.set("en")


def test_instrument_panel_and_live_view_on_the_simulator(qtbot, window):
    session = window.session
    with qtbot.waitSignal(session.opened, timeout=OPEN_TIMEOUT_MS):
        window.instrument_panel.connect_button.click()
    panel = window.instrument_panel
    shown = {
        panel.devices.item(row, 0).text(): panel.devices.item(row, 4).text()
        for row in range(panel.devices.rowCount())
    }
    assert shown == {name: ident["firmware"] for name, ident in session.identities.items()}
    assert shown["detector"] == "1.3.0-sim"
    qtbot.waitUntil(lambda: panel.temperature_c is not None, timeout=10_000)
    assert panel.temperature.text() == f"{panel.temperature_c:.2f} °C"
    qtbot.waitUntil(lambda: not session.busy, timeout=10_000)

    # While 200 fps stream in, a 20 ms timer on the GUI thread keeps firing.
    ticks = []
    heartbeat = QTimer()
    heartbeat.setInterval(20)
    heartbeat.timeout.connect(lambda: ticks.append(1))
    live = window.live_view
    window.tabs.setCurrentWidget(live)
    live.duration.setValue(2.0)
    heartbeat.start()
    with qtbot.waitSignal(session.acquired, timeout=30_000) as finished:
        live.start_button.click()
    heartbeat.stop()
    result = finished.args[0]
    assert result.stats.frames + result.stats.dropped_frames == 400
    # The acquisition lasted ≥ 2 s: ≥ 100 timer periods. A GUI thread doing the device work
    # would have served one or two; this one served at least a quarter of them even on a
    # loaded machine. Redraws are throttled (10 Hz: one per 20 frames at 200 fps), however
    # many frame batches arrive.
    assert len(ticks) >= 25
    assert 5 <= live.redraws <= result.stats.frames // 15
    live.redraw()
    record = read_run_record(result.record_path)
    np.testing.assert_array_equal(live.snapshot.image, record.frames[-1])
    assert sorted(live.snapshot.traces) == [660.0, 760.0, 850.0, 940.0]
    for wavelength, trace in live.snapshot.traces.items():
        means = record.frames[record.wavelength_nm == wavelength].mean(axis=(1, 2))
        assert len(trace) == min(len(means), live.live.window_samples)
        np.testing.assert_allclose(trace, means[-len(trace) :], rtol=1e-12)
    assert live.message.text() == f"{result.stats.frames} frames in {result.record_path}"

    # A background temperature read in flight (held here on the device lock) locks no control:
    # Disconnect stays clickable and queues behind it; Stop has no acquisition to stop.
    with session.device_lock:
        panel.timer.timeout.emit()
        assert session.polling and not session.busy
        assert panel.disconnect_button.isEnabled()
        assert live.start_button.isEnabled() and not live.stop_button.isEnabled()
        panel.disconnect_button.click()
        assert session.busy and not panel.disconnect_button.isEnabled()
    with qtbot.waitSignal(session.closed, timeout=OPEN_TIMEOUT_MS):
        pass
    assert panel.devices.rowCount() == 0
    assert not session.busy and not session.polling
    assert panel.connect_button.isEnabled() and not live.start_button.isEnabled()


def states_shown(browser) -> dict[str, str]:
    return {
        browser.records.item(row, 0).text(): browser.records.item(row, 5).text()
        for row in range(browser.records.rowCount())
    }


def open_main(qtbot, registry, tmp_path):
    context = make_context(None, True, registry.root, tmp_path / "runs")
    main = MainWindow(context, Languages(QApplication.instance()))
    qtbot.addWidget(main)
    main.show()
    # The banner's check reads and verifies the registry in the thread pool.
    qtbot.waitUntil(lambda: main.calibration_checks > 0, timeout=10_000)
    return main


def test_an_expired_record_superseded_by_a_usable_one_of_its_kind_is_red_but_not_bannered(
    qtbot, registry, tmp_path
):
    current = approved_record(registry)
    expired = approved_record(registry, calibration_date="2024-01-02", interval_days=365)
    approved_spo2_curve(registry)
    main = open_main(qtbot, registry, tmp_path)
    # The runner takes the newest usable record of each kind: nothing is blocked.
    assert not main.banner.isVisible()
    browser = main.calibration_browser
    shown = states_shown(browser)
    assert shown[current] == "approved" and shown[expired] == "expired"
    row = [browser.records.item(r, 0).text() for r in range(3)].index(expired)
    assert browser.records.item(row, 5).background().color().name() == "#d32f2f"
    main.close()


def test_banner_names_the_unusable_kind_and_the_protocols_it_blocks(qtbot, registry, tmp_path):
    expired = approved_record(registry, calibration_date="2024-01-02", interval_days=365)
    approved_spo2_curve(registry)
    main = open_main(qtbot, registry, tmp_path)
    assert main.banner.isVisible()
    text = main.banner.text()
    assert f"detector-characterisation: {expired} expired" in text
    # Only the clinical protocols are blocked; research and QC runs proceed carrying the states.
    assert text.endswith("cannot start: spo2-monitoring, spo2-screening.")
    main.close()


def test_banner_names_a_kind_without_any_record(qtbot, registry, tmp_path):
    approved_record(registry)
    main = open_main(qtbot, registry, tmp_path)
    assert main.banner.isVisible()
    assert "spo2-curve: no record" in main.banner.text()
    assert main.banner.text().endswith("cannot start: spo2-monitoring, spo2-screening.")
    main.close()


def test_the_banner_leads_to_what_must_be_done(qtbot, registry, tmp_path):
    approved_record(registry)
    draft = registry.create(
        dataclasses.replace(make_content(), kind="spo2-curve", title="SpO2 curve"),
        PASSWORDS["tech"],
    ).reference
    main = open_main(qtbot, registry, tmp_path)
    assert main.banner.isVisible() and main.guide_button.isVisible()
    main.guide_button.click()
    assert main.tabs.currentWidget() is main.calibration_browser
    guidance = main.guide_box.text()
    # A draft is signed in the app; people are added with the command the guidance names.
    assert f"spo2-curve: record {draft} is draft. Sign it in the Calibration tab" in guidance
    assert f"nirpoct calib users add USER --name NAME --role ROLE --registry {registry.root}" in (
        guidance
    )
    main.guide_box.close()
    main.close()


def test_guidance_for_a_missing_kind_names_the_command_that_records_it(qtbot, registry, tmp_path):
    approved_record(registry)
    main = open_main(qtbot, registry, tmp_path)
    assert main.guide_button.isVisible()
    guidance = main.guidance()
    assert guidance.startswith("spo2-curve: no record. Measure and record one with")
    assert "nirpoct calib record-spo2-curve STUDY.csv" in guidance
    assert f"--registry {registry.root}" in guidance
    main.close()


def test_verify_on_an_empty_registry_says_there_is_nothing_to_verify(qtbot, window):
    browser = window.calibration_browser
    with qtbot.waitSignal(browser.verified, timeout=10_000):
        browser.verify()
    assert browser.message.text().startswith("Nothing to verify")
    assert "intact" not in browser.message.text()


def test_no_banner_when_every_calibration_is_usable(qtbot, registry, tmp_path):
    approved_record(registry)
    approved_spo2_curve(registry)
    main = open_main(qtbot, registry, tmp_path)
    assert not main.banner.isVisible()
    main.close()


def test_the_app_starts_on_a_damaged_registry_and_says_what_is_wrong(qtbot, registry, tmp_path):
    reference = approved_record(registry)
    with registry.audit.path.open("a") as audit:
        audit.write("{not json\n")
    main = open_main(qtbot, registry, tmp_path)
    assert main.banner.isVisible()
    assert main.banner.text().startswith("CALIBRATION REGISTRY UNREADABLE: ")
    assert main.calibration_browser.message.text().startswith("The registry cannot be read: ")
    main.close()

    # A record file gone missing: selecting it says so instead of losing the error.
    registry.audit.path.write_text(
        "".join(line + "\n" for line in registry.audit.path.read_text().splitlines()[:-1])
    )
    main = open_main(qtbot, registry, tmp_path)
    for path in registry.root.rglob("*"):
        if path.is_file() and reference.split("@")[0] in path.name:
            path.unlink()
    main.calibration_browser.select(reference)
    assert "cannot be read" in main.calibration_browser.message.text()
    main.close()


def test_uncaught_errors_are_shown_in_the_window(qtbot, window):
    previous = sys.excepthook
    install_excepthook(window)
    try:
        sys.excepthook(RuntimeError, RuntimeError("the board vanished"), None)
    finally:
        sys.excepthook = previous
    assert window.statusBar().currentMessage() == "Unexpected error: the board vanished"
    assert window.error_box.text() == "Unexpected error: the board vanished"


def sign(qtbot, dialog):
    """Press OK in the signing dialog and wait for the registry's answer (thread pool)."""
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: not dialog.signing, timeout=30_000)


def test_sign_verify_certificate_and_audit_trail(qtbot, window, registry, tmp_path):
    draft = registry.create(make_content(), PASSWORDS["tech"]).reference
    browser = window.calibration_browser
    browser.refresh()
    browser.select(draft)
    assert browser.signatures.rowCount() == 1  # performed, by the technician
    assert browser.signatures.item(0, 2).text() == "tech"

    dialog = browser.open_sign_dialog()
    dialog.meaning.setCurrentIndex(dialog.meaning.findData("reviewed"))
    dialog.user.setText("rev")
    dialog.password.setText("not-the-password")
    sign(qtbot, dialog)
    assert "wrong password" in dialog.error.text()
    assert dialog.isVisible()
    assert registry.entry(draft).lifecycle == "draft"

    dialog.password.setText(PASSWORDS["rev"])
    sign(qtbot, dialog)
    assert not dialog.isVisible()
    assert registry.entry(draft).lifecycle == "reviewed"
    assert states_shown(browser)[draft] == "reviewed"
    assert browser.message.text() == f"{draft} is now reviewed"

    # The approver approves; the reviewer cannot approve their own review's record as approver.
    dialog = browser.open_sign_dialog()
    dialog.meaning.setCurrentIndex(dialog.meaning.findData("approved"))
    dialog.user.setText("rev")
    dialog.password.setText(PASSWORDS["rev"])
    sign(qtbot, dialog)
    assert "approver role" in dialog.error.text()
    dialog.user.setText("boss")
    dialog.password.setText(PASSWORDS["boss"])
    sign(qtbot, dialog)
    assert registry.entry(draft).state_on(dt.date.today()) == "approved"
    assert [browser.signatures.item(r, 2).text() for r in range(3)] == ["tech", "rev", "boss"]

    entries = registry.audit.entries()
    assert browser.audit.rowCount() == len(entries)
    assert browser.audit.item(len(entries) - 1, 2).text() == "boss"

    with qtbot.waitSignal(browser.verified, timeout=10_000) as verified:
        browser.verify()
    assert verified.args[0] == []
    assert "intact" in browser.message.text()

    with qtbot.waitSignal(browser.certificate_written, timeout=30_000) as written:
        browser.export_certificate(tmp_path / "cert.pdf")
    certificate = written.args[0]
    text = "".join(page.extract_text() for page in PdfReader(certificate).pages)
    assert draft.split("@")[0] in text

    # Tampering with the audit trail is reported.
    lines = registry.audit.path.read_text().splitlines()
    first = json.loads(lines[0])
    first["reason"] = "edited afterwards"
    lines[0] = json.dumps(first)
    registry.audit.path.write_text("\n".join(lines) + "\n")
    with qtbot.waitSignal(browser.verified, timeout=10_000) as verified:
        browser.verify()
    assert verified.args[0]
    assert browser.message.text().startswith("INTEGRITY FAILURE")

    # A certificate that cannot be written is reported, not lost.
    browser.export_certificate(tmp_path / "no-such-folder" / "cert.pdf")
    qtbot.waitUntil(lambda: browser.message.text().startswith("Failed: "), timeout=30_000)


def test_switching_to_chinese_changes_the_visible_texts(qtbot, window):
    english = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert english == [
        "Instrument",
        "Live view",
        "Monitoring",
        "Protocol",
        "Results",
        "Run history",
        "Calibration",
    ]
    connect = window.instrument_panel.connect_button.text()
    window.set_language("zh_CN")
    # Qt delivers the language change through the event loop.
    qtbot.waitUntil(lambda: window.tabs.tabText(0) != "Instrument", timeout=5000)
    chinese = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert chinese == ["仪器", "实时视图", "监护", "检测方案", "结果", "运行历史", "校准"]
    assert window.instrument_panel.connect_button.text() == "连接"
    assert window.calibration_browser.sign_button.text() == "签署…"
    assert window.language_menu.title() == "语言"
    window.set_language("en")
    qtbot.waitUntil(lambda: window.tabs.tabText(0) == "Instrument", timeout=5000)
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == english
    assert window.instrument_panel.connect_button.text() == connect


def test_unknown_language_is_refused(qtbot):
    with pytest.raises(ValueError, match="not available"):
        Languages(QApplication.instance()).set("fr")


def ts_messages(path) -> dict[tuple[str, str], str]:
    """(context, source) → translation of a Qt Linguist file."""
    root = ElementTree.parse(path).getroot()
    return {
        (context.findtext("name"), message.findtext("source")): message.findtext("translation")
        for context in root.iter("context")
        for message in context.iter("message")
    }


def test_every_interface_text_has_a_shipped_chinese_translation(tmp_path):
    gui_dir = Path(gui.__file__).parent
    fresh = tmp_path / "fresh.ts"
    lupdate = Path(sys.executable).with_name("pyside6-lupdate")
    sources = sorted(str(p) for p in gui_dir.glob("*.py"))
    subprocess.run([str(lupdate), *sources, "-ts", str(fresh)], check=True, capture_output=True)
    in_code = set(ts_messages(fresh))
    assert len(in_code) > 100
    shipped = ts_messages(TRANSLATIONS_DIR / "nirpoct_zh_CN.ts")
    assert in_code <= set(shipped)
    translator = QTranslator()
    assert translator.load(str(TRANSLATIONS_DIR / "nirpoct_zh_CN.qm"))
    for context, source in in_code:
        chinese = shipped[(context, source)]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), (context, source, chinese)
        assert source.count("%") == chinese.count("%"), (context, source)
        assert translator.translate(context, source) == chinese, (context, source)


def test_results_show_the_hospital_delivery_state_in_either_language(qtbot):
    """A finished clinical run's delivery state (from the runner's RunFinished) is shown with
    the results: delivered, or waiting in the outbox, per channel."""
    from gui.results_view import ResultsView
    from gui.runner_view import RunOutcome
    from protocols.events import RunFinished
    from protocols.protocol_file import load_protocol

    view = ResultsView()
    qtbot.addWidget(view)
    finished = RunFinished("completed", None, None, None, True, {"hl7": True, "dicom": False})
    view.show_outcome(RunOutcome(load_protocol("spo2-screening"), finished))
    assert "Hospital systems: HL7 delivered, DICOM waiting in the outbox" in view.summary.text()
    languages = Languages(QApplication.instance())
    languages.set("zh_CN")
    try:
        qtbot.waitUntil(lambda: "医院系统" in view.summary.text(), timeout=5000)
        assert "医院系统：HL7 已送达, DICOM 在发件箱中等待" in view.summary.text()
    finally:
        languages.set("en")
    plain = RunFinished("completed", None, None, None, True)
    view.show_outcome(RunOutcome(load_protocol("daily-qc"), plain))
    assert "Hospital" not in view.summary.text()


def test_live_image_warns_of_saturation_and_wavelengths_keep_their_colours(qtbot, window):
    from gui.plot_style import wavelength_colour
    from instrument.live_data import LiveData

    live = window.live_view
    image = np.full((32, 32), 1000.0)
    traces = {940.0: np.linspace(1, 2, 20), 660.0: np.linspace(2, 3, 20)}
    window.live.push(LiveData(0.1, traces, image, {}))
    live.redraw()
    assert live.saturation.isHidden()
    image[:4, :] = 4095.0  # 12.5 % of the pixels at full scale
    window.live.push(LiveData(0.2, {850.0: np.linspace(1, 2, 20)}, image, {}))
    live.redraw()
    assert not live.saturation.isHidden()
    assert "12.5 %" in live.saturation.text()
    # The colour is the wavelength's own, whatever order the curves came in.
    for wavelength, curve in live.curves.items():
        assert curve.opts["pen"].color().name() == wavelength_colour(wavelength)
    assert wavelength_colour(660.0) != wavelength_colour(940.0)
    assert "660 nm" in live.traces.getPlotItem().titleLabel.text


def test_every_view_in_chinese_shows_no_untranslated_text(qtbot, registry, tmp_path):
    from protocols.protocol_file import load_protocol, shipped_protocols

    reference = approved_record(registry)
    main = open_main(qtbot, registry, tmp_path)  # spo2-curve missing: banner and BLOCKED
    identifiers = {"sim"}
    for name in shipped_protocols():
        protocol = load_protocol(name)
        identifiers |= {protocol.name, *protocol.name.split("-"), *protocol.required_calibrations}
        identifiers |= {part for step in protocol.steps for part in (step.name, step.kind)}
    identifiers |= {reference.split("@")[0], *reference.split("@")[0].split("-")}
    identifiers |= {*registry.users().keys(), "spo2-curve", "detector-characterisation"}
    data = set()
    for entry in registry.index().values():
        data |= {entry.title, f"{entry.item_serial} {entry.component}"}
    main.set_language("zh_CN")
    try:
        qtbot.waitUntil(lambda: main.tabs.tabText(0) == "仪器", timeout=5000)
        for index in range(main.tabs.count()):
            main.tabs.setCurrentIndex(index)
            view = main.tabs.widget(index)
            if view is main.runner_view:
                view.select_protocol("spo2-screening")
                qtbot.waitUntil(lambda: not main.runner_view.calibrations_pending, timeout=10_000)
            texts = visible_texts(view)
            assert texts, main.tabs.tabText(index)
            assert untranslated(texts, identifiers, data) == [], (
                main.tabs.tabText(index),
                untranslated(texts, identifiers, data),
            )
        shown = [main.banner.text(), main.windowTitle(), main.guide_button.text()]
        shown += [action.text() for action in main.menuBar().actions()]
        shown += [main.device_label.text(), main.simulated_label.text()]
        assert untranslated(shown, identifiers) == []
        # The commands it names stay as typed; the roles are the command's identifiers.
        from calibration.roles import ROLES

        guidance = re.sub(r"nirpoct[^\n）]*", "", main.guidance())
        assert "无记录" in guidance
        assert untranslated([guidance], identifiers | set(ROLES)) == []
    finally:
        main.set_language("en")
        main.close()


def test_a_missing_chinese_font_is_reported_with_the_package_to_install(qtbot, window):
    from gui.i18n import cjk_font_installed

    assert window.font_warning.isHidden()
    window.set_language("zh_CN")
    qtbot.waitUntil(lambda: window.tabs.tabText(0) == "仪器", timeout=5000)
    # This machine may or may not have a CJK font; the warning follows what Qt finds.
    assert window.font_warning.isHidden() == cjk_font_installed()
    assert "fonts-wqy-microhei" in window.font_warning.text()
    assert "fonts-noto-cjk" in window.font_warning.text()
    # The Language menu names Chinese in English too, readable without the font.
    assert "Chinese" in window.language_actions["zh_CN"].text()
    window.set_language("en")
    qtbot.waitUntil(lambda: window.tabs.tabText(0) == "Instrument", timeout=5000)
    assert window.font_warning.isHidden()
