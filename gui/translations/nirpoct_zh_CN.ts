<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>CalibrationBrowser</name>
    <message>
        <location filename="../calibration_browser.py" line="257"/>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="258"/>
        <source>Sign…</source>
        <translation>签署…</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="259"/>
        <source>Verify</source>
        <translation>验证</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="260"/>
        <source>Export certificate…</source>
        <translation>导出证书…</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="263"/>
        <source>Meaning</source>
        <translation>含义</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="263"/>
        <source>Signer</source>
        <translation>签署人</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="263"/>
        <source>User id</source>
        <translation>用户 ID</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="263"/>
        <source>Signed (UTC)</source>
        <translation>签署时间 (UTC)</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="267"/>
        <source>#</source>
        <translation>序号</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="268"/>
        <source>Time (UTC)</source>
        <translation>时间 (UTC)</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="269"/>
        <source>User</source>
        <translation>用户</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="270"/>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="271"/>
        <source>Record</source>
        <translation>记录</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="272"/>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="275"/>
        <source>Signatures</source>
        <translation>签名</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="276"/>
        <source>Audit trail</source>
        <translation>审计追踪</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="290"/>
        <source>The registry cannot be read: %1</source>
        <translation>无法读取校准登记库：%1</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="334"/>
        <source>%1 cannot be read: %2</source>
        <translation>无法读取 %1：%2</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="354"/>
        <source>Select a record to sign.</source>
        <translation>请选择要签署的记录。</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="366"/>
        <source>%1 is now %2</source>
        <translation>%1 现为%2</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="375"/>
        <source>Verifying…</source>
        <translation>正在验证…</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="381"/>
        <source>INTEGRITY FAILURE: %1 problem(s)</source>
        <translation>完整性校验失败：%1 个问题</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="389"/>
        <source>Nothing to verify: the registry holds no calibration record yet (%1).</source>
        <translation>无可验证内容：校准登记库中还没有任何校准记录（%1）。</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="394"/>
        <source>Verified %1 record version(s), audit trail and users: intact</source>
        <translation>已验证 %1 个记录版本、审计追踪和用户：完好</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="413"/>
        <source>Writing the certificate…</source>
        <translation>正在写入证书…</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="417"/>
        <source>Certificate written to %1</source>
        <translation>证书已写入 %1</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="405"/>
        <location filename="../calibration_browser.py" line="426"/>
        <source>Select a record first.</source>
        <translation>请先选择一条记录。</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="421"/>
        <source>Failed: %1</source>
        <translation>失败：%1</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="429"/>
        <source>Export certificate</source>
        <translation>导出证书</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="429"/>
        <source>PDF (*.pdf)</source>
        <translation>PDF 文件 (*.pdf)</translation>
    </message>
</context>
<context>
    <name>Errors</name>
    <message>
        <location filename="../errors.py" line="17"/>
        <source>Unexpected error: %1</source>
        <translation>意外错误：%1</translation>
    </message>
</context>
<context>
    <name>InstrumentPanel</name>
    <message>
        <location filename="../instrument_panel.py" line="107"/>
        <source>Connect</source>
        <translation>连接</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="108"/>
        <source>Disconnect</source>
        <translation>断开</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="109"/>
        <source>Board temperature</source>
        <translation>电路板温度</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="110"/>
        <source>Devices</source>
        <translation>设备</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="111"/>
        <source>Calibrations</source>
        <translation>校准</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="114"/>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="115"/>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="116"/>
        <source>Model</source>
        <translation>型号</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="117"/>
        <source>Serial</source>
        <translation>序列号</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="118"/>
        <source>Firmware</source>
        <translation>固件</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="119"/>
        <source>Address</source>
        <translation>地址</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="128"/>
        <source>Not connected.</source>
        <translation>未连接。</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="129"/>
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="130"/>
        <source>Connected.</source>
        <translation>已连接。</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="131"/>
        <location filename="../instrument_panel.py" line="173"/>
        <source>Device error: %1</source>
        <translation>设备错误：%1</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="192"/>
        <source>The calibration registry cannot be read: %1</source>
        <translation>无法读取校准登记库：%1</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="202"/>
        <source>The detector board holds no calibration record.</source>
        <translation>探测器电路板中没有校准记录。</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="209"/>
        <source>Detector calibration %1 is not in the registry.</source>
        <translation>探测器校准 %1 不在校准登记库中。</translation>
    </message>
    <message>
        <location filename="../instrument_panel.py" line="217"/>
        <source>Detector calibration %1: %2, due %3</source>
        <translation>探测器校准 %1：%2，到期日 %3</translation>
    </message>
</context>
<context>
    <name>LiveMapPanel</name>
    <message>
        <location filename="../live_maps_view.py" line="36"/>
        <source>StO2 (%)</source>
        <translation>组织氧饱和度 StO2 (%)</translation>
    </message>
    <message>
        <location filename="../live_maps_view.py" line="37"/>
        <source>TOI (%)</source>
        <translation>组织氧合指数 TOI (%)</translation>
    </message>
    <message>
        <location filename="../live_maps_view.py" line="38"/>
        <source>Total haemoglobin HbT (µM)</source>
        <translation>总血红蛋白 HbT (µM)</translation>
    </message>
    <message>
        <location filename="../live_maps_view.py" line="39"/>
        <source>SpO2, imaging PPG (%)</source>
        <translation>成像 PPG 血氧饱和度 SpO2 (%)</translation>
    </message>
    <message>
        <location filename="../live_maps_view.py" line="40"/>
        <source>Perfusion index, imaging PPG (%)</source>
        <translation>成像 PPG 灌注指数 (%)</translation>
    </message>
    <message>
        <location filename="../live_maps_view.py" line="43"/>
        <source>Signal quality, imaging PPG (0–1)</source>
        <translation>成像 PPG 信号质量 (0–1)</translation>
    </message>
    <message>
        <location filename="../live_maps_view.py" line="207"/>
        <source>Step %1, cells of %2 × %2 pixels, frames of %3–%4 s, median %5</source>
        <translation>步骤 %1，每格 %2 × %2 像素，帧 %3–%4 秒，中位数 %5</translation>
    </message>
    <message>
        <location filename="../live_maps_view.py" line="219"/>
        <source>Map</source>
        <translation>图</translation>
    </message>
    <message>
        <location filename="../live_maps_view.py" line="222"/>
        <source>No map yet: a protocol step that acquires two or more wavelengths sends its maps every %1 s of signal.</source>
        <translation>尚无图：检测方案中采集两个或更多波长的步骤每 %1 秒信号发送一次图。</translation>
    </message>
</context>
<context>
    <name>LiveView</name>
    <message>
        <location filename="../live_view.py" line="176"/>
        <source>Duration</source>
        <translation>时长</translation>
    </message>
    <message>
        <location filename="../live_view.py" line="178"/>
        <source>Start acquisition</source>
        <translation>开始采集</translation>
    </message>
    <message>
        <location filename="../live_view.py" line="179"/>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <location filename="../live_view.py" line="180"/>
        <source>SpO2 (%)</source>
        <translation>血氧饱和度 SpO2 (%)</translation>
    </message>
    <message>
        <location filename="../live_view.py" line="181"/>
        <source>Pulse rate (bpm)</source>
        <translation>脉率 (次/分)</translation>
    </message>
    <message>
        <location filename="../live_view.py" line="182"/>
        <source>Perfusion index (%)</source>
        <translation>灌注指数 (%)</translation>
    </message>
    <message>
        <location filename="../live_view.py" line="183"/>
        <source>Detector image (DN)</source>
        <translation>探测器图像 (DN)</translation>
    </message>
    <message>
        <location filename="../live_view.py" line="184"/>
        <location filename="../live_view.py" line="268"/>
        <source>Signal per wavelength</source>
        <translation>各波长信号</translation>
    </message>
    <message>
        <location filename="../live_view.py" line="186"/>
        <source>Mean level (DN)</source>
        <translation>平均电平（DN）</translation>
    </message>
    <message>
        <location filename="../live_view.py" line="218"/>
        <source>SATURATED: %1 % of the pixels at full scale; lower the LED current or the integration time</source>
        <translation>饱和：%1 % 的像素达到满量程；请降低 LED 电流或积分时间</translation>
    </message>
    <message>
        <location filename="../live_view.py" line="196"/>
        <source>Acquiring…</source>
        <translation>正在采集…</translation>
    </message>
    <message>
        <location filename="../live_view.py" line="185"/>
        <source>Time (s)</source>
        <translation>时间（秒）</translation>
    </message>
    <message>
        <location filename="../live_view.py" line="201"/>
        <source>Stopped.</source>
        <translation>已停止。</translation>
    </message>
    <message>
        <location filename="../live_view.py" line="205"/>
        <source>%1 frames in %2</source>
        <translation>%1 帧，保存在 %2</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../main_window.py" line="65"/>
        <source>%1: no record</source>
        <translation>%1：无记录</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="67"/>
        <source>%1: %2 %3 (due %4)</source>
        <translation>%1：%2 %3（到期 %4）</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="78"/>
        <source>detector board</source>
        <translation>探测器板</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="79"/>
        <source>lock-in amplifier</source>
        <translation>锁相放大器</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="80"/>
        <source>source meter</source>
        <translation>源表</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="81"/>
        <source>power meter</source>
        <translation>功率计</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="82"/>
        <source>LED source</source>
        <translation>LED 光源</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="96"/>
        <source>%1: record %2 is %3. Sign it in the Calibration tab (Sign…): a reviewer signs “reviewed”, then an approver signs “approved”.</source>
        <translation>%1：记录 %2 状态为%3。请在校准标签页中签署（签署…）：先由审核人签署“已审核”，再由批准人签署“已批准”。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="106"/>
        <source>%1: record %2 expired on %3. Recalibrate with
    %4
then sign the new record in the Calibration tab; until then an approver may override it for one run in the Protocol tab (with a reason, recorded in the audit trail).</source>
        <translation>%1：记录 %2 已于 %3 过期。请用以下命令重新校准
    %4
然后在校准标签页中签署新记录；在此之前，批准人可在检测方案标签页中为单次运行进行覆盖（需填写理由，记入审计追踪）。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="119"/>
        <source>%1: no record. Measure and record one with
    %2
then sign it in the Calibration tab (or: %3).</source>
        <translation>%1：无记录。请用以下命令测量并记录
    %2
然后在校准标签页中签署（或：%3）。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="129"/>
        <source>%1: record %2 is %3 and cannot be used or overridden. Recalibrate with
    %4
then sign the new record in the Calibration tab.</source>
        <translation>%1：记录 %2 状态为%3，不能使用也不能覆盖。请用以下命令重新校准
    %4
然后在校准标签页中签署新记录。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="289"/>
        <source>nirpoct — NIR point-of-care instrument</source>
        <translation>nirpoct — 近红外即时检测仪</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="291"/>
        <source>(simulated devices)</source>
        <translation>（模拟设备）</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="293"/>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="294"/>
        <source>What must be done…</source>
        <translation>需要做什么…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="297"/>
        <source>Instrument</source>
        <translation>仪器</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="298"/>
        <source>Live view</source>
        <translation>实时视图</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="299"/>
        <source>Monitoring</source>
        <translation>监护</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="300"/>
        <source>Protocol</source>
        <translation>检测方案</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="301"/>
        <source>Results</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="302"/>
        <source>Run history</source>
        <translation>运行历史</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="303"/>
        <source>Calibration</source>
        <translation>校准</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="308"/>
        <source>SIMULATED DEVICES — not for patients</source>
        <translation>模拟设备 — 不可用于患者</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="336"/>
        <source>in use by the protocol run</source>
        <translation>正被检测方案运行使用</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="338"/>
        <source>acquiring</source>
        <translation>采集中</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="338"/>
        <source>connected</source>
        <translation>已连接</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="340"/>
        <source>connecting…</source>
        <translation>连接中…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="342"/>
        <source>not connected</source>
        <translation>未连接</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="392"/>
        <source>CALIBRATION REGISTRY UNREADABLE: %1</source>
        <translation>校准登记库无法读取：%1</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="402"/>
        <source>CALIBRATION NOT VALID: %1. These clinical protocols cannot start: %2.</source>
        <translation>校准无效：%1。以下临床检测方案无法启动：%2。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="415"/>
        <source>People who sign are registered with
    %1
(roles: %2).</source>
        <translation>签署人用以下命令注册
    %1
（角色：%2）。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="428"/>
        <source>What must be done</source>
        <translation>需要做什么</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="466"/>
        <source>A protocol is running. Abort it and close when it has stopped?</source>
        <translation>检测方案正在运行。是否中止并在其停止后关闭？</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="481"/>
        <source>Aborting the run; the window closes when it has stopped…</source>
        <translation>正在中止运行；停止后窗口将关闭…</translation>
    </message>
</context>
<context>
    <name>Monitoring</name>
    <message>
        <location filename="../monitoring_texts.py" line="20"/>
        <source>SpO2 low</source>
        <translation>SpO2 过低</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="21"/>
        <source>Pulse rate high</source>
        <translation>脉率过高</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="22"/>
        <source>Pulse rate low</source>
        <translation>脉率过低</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="23"/>
        <source>Signal inadequate</source>
        <translation>信号不足</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="24"/>
        <source>Probe off</source>
        <translation>探头脱落</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="25"/>
        <source>Device disconnected</source>
        <translation>设备断开</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="28"/>
        <source>high</source>
        <translation>高</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="29"/>
        <source>medium</source>
        <translation>中</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="30"/>
        <source>low</source>
        <translation>低</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="87"/>
        <location filename="../monitoring_texts.py" line="107"/>
        <source>No alarm limit</source>
        <translation>无报警限值</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="88"/>
        <source>Alarm below %1 %</source>
        <translation>低于 %1 % 报警</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="95"/>
        <source>Alarm below %1 or above %2 bpm</source>
        <translation>低于 %1 或高于 %2 次/分报警</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="100"/>
        <source>Alarm below %1 bpm</source>
        <translation>低于 %1 次/分报警</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="104"/>
        <source>Alarm above %1 bpm</source>
        <translation>高于 %1 次/分报警</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="113"/>
        <source>Alarm: %1 (%2 priority) at %3 s</source>
        <translation>报警：%1（%2优先级），于 %3 秒</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="128"/>
        <source>t = %1 s  SpO2 %2 %  pulse rate %3 bpm  PI %4 %  signal quality %5</source>
        <translation>时间 %1 秒  SpO2 %2 %  脉率 %3 次/分  灌注指数 %4 %  信号质量 %5</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="138"/>
        <source>STALE</source>
        <translation>数据过时</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="140"/>
        <source>PROBE OFF</source>
        <translation>探头脱落</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="144"/>
        <source>alarms: %1</source>
        <translation>报警：%1</translation>
    </message>
    <message>
        <location filename="../monitoring_texts.py" line="145"/>
        <source>none</source>
        <translation>无</translation>
    </message>
</context>
<context>
    <name>MonitoringView</name>
    <message>
        <location filename="../monitoring_view.py" line="215"/>
        <source>SpO2 (%)</source>
        <translation>血氧饱和度 SpO2 (%)</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="216"/>
        <source>Pulse rate (bpm)</source>
        <translation>脉率 (次/分)</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="217"/>
        <source>Perfusion index (%)</source>
        <translation>灌注指数 (%)</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="218"/>
        <source>Signal quality (0–1)</source>
        <translation>信号质量 (0–1)</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="219"/>
        <source>Acknowledge</source>
        <translation>确认报警</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="221"/>
        <source>Pause alarms (%1 s)</source>
        <translation>暂停报警（%1 秒）</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="222"/>
        <source>Stop monitoring</source>
        <translation>停止监护</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="223"/>
        <source>Active alarms</source>
        <translation>当前报警</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="225"/>
        <source>Alarm</source>
        <translation>报警</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="225"/>
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="225"/>
        <source>Since</source>
        <translation>开始于</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="225"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="228"/>
        <source>Time (s)</source>
        <translation>时间（秒）</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="229"/>
        <source>Light absorbed by the pulse (DN, up = more blood)</source>
        <translation>脉搏吸收的光 (DN，向上 = 血量增加)</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="366"/>
        <source>No monitoring is running. Monitoring starts with a protocol that monitors (Protocol tab).</source>
        <translation>当前没有监护。监护由含监护步骤的检测方案启动（检测方案标签页）。</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="370"/>
        <source>The run has started; monitoring begins at its monitoring step.</source>
        <translation>运行已开始；监护将在其监护步骤开始。</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="372"/>
        <source>Monitoring ended: the values shown are the last ones, not current.</source>
        <translation>监护已结束：显示的是最后的数值，不是当前值。</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="374"/>
        <source>STALE: no new values for more than %1 s.</source>
        <translation>数据过时：超过 %1 秒没有新数值。</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="378"/>
        <source>PROBE OFF: place the probe on the fingertip.</source>
        <translation>探头脱落：请将探头放在指尖。</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="380"/>
        <source>Monitoring</source>
        <translation>监护中</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="395"/>
        <source>Monitoring time %1</source>
        <translation>监护时间 %1</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="397"/>
        <source>%1 left</source>
        <translation>剩余 %1</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="412"/>
        <source>withheld</source>
        <translation>不显示（信号不可靠）</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="413"/>
        <source>stale</source>
        <translation>过时</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="414"/>
        <source>ended</source>
        <translation>已结束</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="449"/>
        <source>acknowledged</source>
        <translation>已确认</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="449"/>
        <source>active</source>
        <translation>报警中</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="461"/>
        <source>No active alarms</source>
        <translation>无当前报警</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="466"/>
        <source>Alarms paused until %1</source>
        <translation>报警暂停至 %1</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="490"/>
        <source>Pulse waveform</source>
        <translation>脉搏波形</translation>
    </message>
    <message>
        <location filename="../monitoring_view.py" line="491"/>
        <source>Pulse waveform, %1 nm</source>
        <translation>脉搏波形，%1 nm</translation>
    </message>
</context>
<context>
    <name>ProtocolTexts</name>
    <message>
        <location filename="../protocol_texts.py" line="24"/>
        <source>Daily headless QC of the instrument: board warm-up, dark level, temporal noise, DSNU and hot pixels, LED signal per wavelength, lock-in chain — each against limits.</source>
        <translation>仪器每日无人值守质控：电路板预热、暗电平、时间噪声、DSNU 与热像素、各波长 LED 信号、锁相链路——均与限值比较。</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="29"/>
        <source>EMVA 1288 detector characterisation: photon-transfer series on the integrating-sphere rig, system gain, quantum efficiency, dark noise, saturation, SNR, dynamic range, linearity, DSNU, PRNU and defect pixels against the detector&apos;s acceptance limits.</source>
        <translation>EMVA 1288 探测器表征：在积分球装置上进行光子转移序列测量，系统增益、量子效率、暗噪声、饱和、信噪比、动态范围、线性度、DSNU、PRNU 与缺陷像素，均与探测器验收限值比较。</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="35"/>
        <source>Multi-wavelength diffuse optical tomography of a breast/soft-tissue region: reflectance at four wavelengths over the detector array, DOT reconstruction of absorption changes, lesion table (position, size, contrast, HbT, StO2).</source>
        <translation>乳腺/软组织区域的多波长漫射光学断层成像：探测器阵列上四个波长的反射率，吸收变化的 DOT 重建，病灶表（位置、大小、对比度、HbT、StO2）。</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="41"/>
        <source>Continuous SpO2 monitoring: calibration check, red/infrared PPG at the fingertip until the operator stops it (Ctrl-C, Stop) or for --duration, SpO2, pulse rate, perfusion index and signal quality once per second with physiological and technical alarms (IEC 60601-1-8 priorities), alarm log in the run record, report.</source>
        <translation>连续 SpO2 监护：校准检查，指尖红光/红外 PPG，直至操作员停止或达到设定时长；每秒给出 SpO2、脉率、灌注指数和信号质量，带生理和技术报警（IEC 60601-1-8 优先级），报警日志保存在运行记录中，生成报告。</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="48"/>
        <source>SpO2 screening: calibration check, 60 s red/infrared PPG at the fingertip, SpO2, pulse rate and perfusion index with signal-quality gates, report.</source>
        <translation>血氧饱和度筛查：校准检查，指尖 60 秒红光/红外 PPG，血氧饱和度、脉率和灌注指数及信号质量关卡，报告。</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="53"/>
        <source>Tissue oxygenation map: multi-wavelength reflectance over the detector array — StO2 / TOI map (spatially resolved spectroscopy) and imaging-PPG maps of SpO2 and perfusion.</source>
        <translation>组织氧合图：探测器阵列上的多波长反射率——StO2 / TOI 图（空间分辨光谱）以及血氧饱和度和灌注的成像 PPG 图。</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="61"/>
        <source>Place the pad on the healthy contralateral side, mirroring the region to examine, then confirm.</source>
        <translation>将探头垫放在健康的对侧，与待检区域镜像对称，然后确认。</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="66"/>
        <source>Move the pad to the region under examination, same orientation, then confirm.</source>
        <translation>将探头垫移到待检区域，保持相同方向，然后确认。</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="73"/>
        <source>clinical</source>
        <translation>临床</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="74"/>
        <source>research</source>
        <translation>研究</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="75"/>
        <source>quality control</source>
        <translation>质量控制</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="79"/>
        <source>acquisition</source>
        <translation>采集</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="80"/>
        <source>analysis</source>
        <translation>分析</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="81"/>
        <location filename="../protocol_texts.py" line="93"/>
        <source>calibration check</source>
        <translation>校准检查</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="82"/>
        <source>dark reference</source>
        <translation>暗参考</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="83"/>
        <source>lock-in sweep</source>
        <translation>锁相扫描</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="84"/>
        <location filename="../protocol_texts.py" line="125"/>
        <source>monitoring</source>
        <translation>监护</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="85"/>
        <location filename="../protocol_texts.py" line="108"/>
        <source>photon transfer series</source>
        <translation>光子转移序列</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="86"/>
        <source>operator prompt</source>
        <translation>操作员提示</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="87"/>
        <source>QC gate</source>
        <translation>质控关卡</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="88"/>
        <location filename="../protocol_texts.py" line="107"/>
        <source>report</source>
        <translation>报告</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="89"/>
        <location filename="../protocol_texts.py" line="94"/>
        <source>warm-up</source>
        <translation>预热</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="95"/>
        <source>settling</source>
        <translation>稳定</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="96"/>
        <source>dark frames</source>
        <translation>暗帧</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="97"/>
        <source>dark statistics</source>
        <translation>暗帧统计</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="98"/>
        <source>LED check</source>
        <translation>LED 检查</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="99"/>
        <source>LED signal</source>
        <translation>LED 信号</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="100"/>
        <source>lock-in chain</source>
        <translation>锁相链路</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="101"/>
        <source>dark level</source>
        <translation>暗电平</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="102"/>
        <source>dark noise</source>
        <translation>暗噪声</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="103"/>
        <source>hot pixels</source>
        <translation>热像素</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="104"/>
        <source>LED power</source>
        <translation>LED 功率</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="105"/>
        <source>lock-in reading valid</source>
        <translation>锁相读数有效</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="106"/>
        <source>lock-in response</source>
        <translation>锁相响应</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="109"/>
        <source>EMVA 1288 analysis</source>
        <translation>EMVA 1288 分析</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="110"/>
        <source>system gain</source>
        <translation>系统增益</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="111"/>
        <source>quantum efficiency</source>
        <translation>量子效率</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="112"/>
        <source>maximum SNR</source>
        <translation>最大信噪比</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="113"/>
        <source>dynamic range</source>
        <translation>动态范围</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="114"/>
        <source>linearity</source>
        <translation>线性度</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="115"/>
        <source>PRNU</source>
        <translation>光响应非均匀性 PRNU</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="116"/>
        <source>place on the reference side</source>
        <translation>放置于参考侧</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="117"/>
        <source>reference scan</source>
        <translation>参考扫描</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="118"/>
        <source>place on the region</source>
        <translation>放置于待检区域</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="119"/>
        <source>region scan</source>
        <translation>区域扫描</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="120"/>
        <source>DOT reconstruction</source>
        <translation>DOT 重建</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="121"/>
        <source>PPG recording</source>
        <translation>PPG 记录</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="122"/>
        <source>oximetry</source>
        <translation>血氧测定</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="123"/>
        <source>signal quality</source>
        <translation>信号质量</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="124"/>
        <source>SpO2 coverage</source>
        <translation>血氧饱和度覆盖率</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="126"/>
        <source>perfusion</source>
        <translation>灌注</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="127"/>
        <source>SpO2 in range</source>
        <translation>血氧饱和度在范围内</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="128"/>
        <source>pulse rate in range</source>
        <translation>脉率在范围内</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="129"/>
        <source>reflectance recording</source>
        <translation>反射率记录</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="130"/>
        <source>StO2 map</source>
        <translation>StO2 图</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="131"/>
        <source>imaging PPG</source>
        <translation>成像 PPG</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="132"/>
        <source>StO2 coverage</source>
        <translation>StO2 覆盖率</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="133"/>
        <source>StO2 in range</source>
        <translation>StO2 在范围内</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="134"/>
        <source>imaging-PPG coverage</source>
        <translation>成像 PPG 覆盖率</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="177"/>
        <source>no %1 calibration in the registry %2</source>
        <translation>校准登记库 %2 中没有 %1 校准</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="185"/>
        <source>%1 is %2 (due %3)</source>
        <translation>%1 状态为%2（到期 %3）</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="196"/>
        <source>clinical run refused: calibration %1. Recalibrate, or have an approver override with a reason.</source>
        <translation>临床运行被拒绝：校准 %1。请重新校准，或由批准人填写理由进行覆盖。</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="205"/>
        <source>step %1 failed: %2</source>
        <translation>步骤 %1 失败：%2</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="217"/>
        <source>%1 analyses uncorrected frames: %2</source>
        <translation>%1 分析未经校正的帧：%2</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="225"/>
        <source>%1/%2 s, %3 frames</source>
        <translation>%1/%2 秒，%3 帧</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="234"/>
        <source>%1 s, %2 frames (until stopped)</source>
        <translation>%1 秒，%2 帧（直至停止）</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="242"/>
        <source>board %1 °C, varied %2 °C over the last %3 s</source>
        <translation>电路板 %1 °C，最近 %3 秒内变化 %2 °C</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="252"/>
        <source>device fault: %1</source>
        <translation>设备故障：%1</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="262"/>
        <source>no calibration registry</source>
        <translation>没有校准登记库</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="266"/>
        <source>no approved detector-characterisation record</source>
        <translation>没有已批准的探测器表征记录</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="273"/>
        <source>%1 holds no usable correction (missing fields %2, unexpected %3)</source>
        <translation>%1 不含可用的校正数据（缺少字段 %2，多余字段 %3）</translation>
    </message>
    <message>
        <location filename="../protocol_texts.py" line="284"/>
        <source>%1 holds no usable correction (%2)</source>
        <translation>%1 不含可用的校正数据（%2）</translation>
    </message>
</context>
<context>
    <name>RecordTable</name>
    <message>
        <location filename="../calibration_browser.py" line="103"/>
        <source>Record</source>
        <translation>记录</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="104"/>
        <source>Title</source>
        <translation>标题</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="105"/>
        <source>Item</source>
        <translation>对象</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="106"/>
        <source>Calibrated</source>
        <translation>校准日期</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="107"/>
        <source>Due</source>
        <translation>到期日</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="108"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
</context>
<context>
    <name>ResultsView</name>
    <message>
        <location filename="../results_view.py" line="256"/>
        <source>Open PDF report</source>
        <translation>打开 PDF 报告</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="319"/>
        <source>REFUSED — nothing was measured: %1</source>
        <translation>已拒绝 — 未进行任何测量：%1</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="322"/>
        <source>RESULTS VALID — run completed, all QC gates passed</source>
        <translation>结果有效 — 运行完成，所有质控关卡通过</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="325"/>
        <source>NOT VALID — a QC gate failed; do not use these results</source>
        <translation>无效 — 有质控关卡未通过；请勿使用这些结果</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="328"/>
        <source>NOT VALID — run %1</source>
        <translation>无效 — 运行%1</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="341"/>
        <source>reference %1–%2 %3</source>
        <translation>参考范围 %1–%2 %3</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="344"/>
        <source>withheld (the signal was too poor to report a value reliably)</source>
        <translation>未报告（信号质量太差，无法可靠地给出数值）</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="435"/>
        <source>t (s)</source>
        <translation>时间（秒）</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="259"/>
        <source>Step</source>
        <translation>步骤</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="177"/>
        <source>SpO2</source>
        <translation>血氧饱和度 SpO2</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="178"/>
        <source>SpO2 (median)</source>
        <translation>血氧饱和度 SpO2（中位数）</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="179"/>
        <source>Pulse rate</source>
        <translation>脉率</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="180"/>
        <source>Perfusion index</source>
        <translation>灌注指数</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="181"/>
        <source>Perfusion index (median)</source>
        <translation>灌注指数（中位数）</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="184"/>
        <source>Tissue oxygenation (StO2)</source>
        <translation>组织氧饱和度（StO2）</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="257"/>
        <source>Details</source>
        <translation>详细信息</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="259"/>
        <source>Figure</source>
        <translation>指标</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="259"/>
        <source>Value</source>
        <translation>数值</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="259"/>
        <source>Unit</source>
        <translation>单位</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="267"/>
        <source>Trends</source>
        <translation>趋势</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="267"/>
        <source>Maps</source>
        <translation>分布图</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="267"/>
        <source>DOT slices</source>
        <translation>DOT 切片</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="267"/>
        <source>Lesions</source>
        <translation>病灶</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="275"/>
        <source>No run yet.</source>
        <translation>尚无运行记录。</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="292"/>
        <source>Started %1 UTC</source>
        <translation>开始于 %1（UTC）</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="296"/>
        <source>Subject (pseudonym): %1</source>
        <translation>受试者（假名）：%1</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="312"/>
        <source>all QC gates passed</source>
        <translation>所有质控关卡均通过</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="312"/>
        <source>QC not passed</source>
        <translation>质控未通过</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="437"/>
        <source>value</source>
        <translation>数值</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="284"/>
        <source>%1 %2: %3, %4
Run record: %5</source>
        <translation>%1 %2：%3，%4
运行记录：%5</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="302"/>
        <source>%1 delivered</source>
        <translation>%1 已送达</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="302"/>
        <source>%1 waiting in the outbox</source>
        <translation>%1 在发件箱中等待</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="306"/>
        <source>Hospital systems: %1</source>
        <translation>医院系统：%1</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="308"/>
        <source>Cannot read the run record: %1</source>
        <translation>无法读取运行记录：%1</translation>
    </message>
</context>
<context>
    <name>RunHistory</name>
    <message>
        <location filename="../run_history.py" line="220"/>
        <source>Runs in %1</source>
        <translation>%1 中的运行</translation>
    </message>
    <message>
        <location filename="../run_history.py" line="221"/>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <location filename="../run_history.py" line="222"/>
        <source>Open results</source>
        <translation>打开结果</translation>
    </message>
    <message>
        <location filename="../run_history.py" line="223"/>
        <source>Open PDF report</source>
        <translation>打开 PDF 报告</translation>
    </message>
    <message>
        <location filename="../run_history.py" line="224"/>
        <source>Show record file</source>
        <translation>显示记录文件</translation>
    </message>
    <message>
        <location filename="../run_history.py" line="227"/>
        <source>Started (UTC)</source>
        <translation>开始时间（UTC）</translation>
    </message>
    <message>
        <location filename="../run_history.py" line="228"/>
        <source>Protocol</source>
        <translation>检测方案</translation>
    </message>
    <message>
        <location filename="../run_history.py" line="229"/>
        <source>Subject (pseudonym)</source>
        <translation>受试者（假名）</translation>
    </message>
    <message>
        <location filename="../run_history.py" line="230"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../run_history.py" line="231"/>
        <source>Record</source>
        <translation>记录</translation>
    </message>
    <message>
        <location filename="../run_history.py" line="247"/>
        <source>Cannot read the output folder: %1</source>
        <translation>无法读取输出文件夹：%1</translation>
    </message>
    <message>
        <location filename="../run_history.py" line="253"/>
        <source>refused</source>
        <translation>已拒绝</translation>
    </message>
    <message>
        <location filename="../run_history.py" line="257"/>
        <source>(acquisition)</source>
        <translation>（采集）</translation>
    </message>
    <message>
        <location filename="../run_history.py" line="260"/>
        <source>none (not started)</source>
        <translation>无（未开始）</translation>
    </message>
</context>
<context>
    <name>RunnerView</name>
    <message>
        <location filename="../runner_view.py" line="371"/>
        <location filename="../runner_view.py" line="807"/>
        <source>Error: %1</source>
        <translation>错误：%1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="371"/>
        <location filename="../runner_view.py" line="807"/>
        <source>Warning: %1</source>
        <translation>警告：%1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="375"/>
        <source>Protocol</source>
        <translation>检测方案</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="376"/>
        <source>About</source>
        <translation>说明</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="377"/>
        <source>Calibrations</source>
        <translation>校准</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="378"/>
        <source>Operator</source>
        <translation>操作员</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="379"/>
        <source>Subject</source>
        <translation>受试者</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="380"/>
        <source>Monitoring duration</source>
        <translation>监护时长</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="384"/>
        <source>until stopped</source>
        <translation>直至停止</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="385"/>
        <source>stored only as a pseudonym</source>
        <translation>仅以假名存储</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="386"/>
        <source>Start</source>
        <translation>开始</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="387"/>
        <location filename="../runner_view.py" line="570"/>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="387"/>
        <location filename="../runner_view.py" line="570"/>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="388"/>
        <source>Abort</source>
        <translation>中止</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="389"/>
        <source>The run waits for you</source>
        <translation>运行正在等待您的操作</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="390"/>
        <source>Done, continue</source>
        <translation>已完成，继续</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="392"/>
        <source>Approver override (an expired calibration only; recorded in the audit trail)</source>
        <translation>批准人越权放行（仅限已过期的校准；记录在审计追踪中）</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="394"/>
        <source>Approver user id</source>
        <translation>批准人用户 ID</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="394"/>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="394"/>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="404"/>
        <source>Steps</source>
        <translation>步骤</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="405"/>
        <source>QC gates and messages</source>
        <translation>质控关卡与消息</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="406"/>
        <location filename="../runner_view.py" line="409"/>
        <source>Step</source>
        <translation>步骤</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="406"/>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="406"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="410"/>
        <source>Figure</source>
        <translation>指标</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="411"/>
        <source>Value</source>
        <translation>数值</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="412"/>
        <source>Unit</source>
        <translation>单位</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="413"/>
        <source>Low</source>
        <translation>下限</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="414"/>
        <source>High</source>
        <translation>上限</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="415"/>
        <source>Result</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="430"/>
        <location filename="../runner_view.py" line="797"/>
        <source>PASS</source>
        <translation>通过</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="430"/>
        <location filename="../runner_view.py" line="797"/>
        <source>FAIL</source>
        <translation>未通过</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="490"/>
        <source>none required</source>
        <translation>无需校准</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="495"/>
        <source>checking…</source>
        <translation>正在检查…</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="523"/>
        <source>due %1</source>
        <translation>到期日 %1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="540"/>
        <source>BLOCKED: this clinical protocol needs approved, in-date calibrations. %1</source>
        <translation>已禁止：此临床检测方案需要已批准且在有效期内的校准。%1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="588"/>
        <source>The instrument is busy; stop the live acquisition first.</source>
        <translation>仪器正忙；请先停止实时采集。</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="592"/>
        <source>Enter the operator.</source>
        <translation>请输入操作员。</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="628"/>
        <source>Running %1… The run uses the instrument itself: the Instrument tab&apos;s connection is closed and stays closed after the run (connect again there).</source>
        <translation>正在运行 %1… 运行会自行使用仪器：仪器标签页的连接已关闭，运行结束后仍保持关闭（请在那里重新连接）。</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="633"/>
        <source>Running %1…</source>
        <translation>正在运行 %1…</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="643"/>
        <source>Resumed.</source>
        <translation>已继续。</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="646"/>
        <source>Paused.</source>
        <translation>已暂停。</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="685"/>
        <source>Aborting…</source>
        <translation>正在中止…</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="730"/>
        <source>Run failed: %1</source>
        <translation>运行失败：%1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="755"/>
        <source>Elapsed %1</source>
        <translation>已用时 %1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="758"/>
        <source>about %1 left</source>
        <translation>约剩 %1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="832"/>
        <source>Run refused, nothing was measured: %1</source>
        <translation>运行被拒绝，未进行任何测量：%1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="843"/>
        <source>all QC gates passed</source>
        <translation>所有质控关卡均通过</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="843"/>
        <source>QC not passed</source>
        <translation>质控未通过</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="845"/>
        <source>Run %1: %2</source>
        <translation>运行%1：%2</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="863"/>
        <source>Run refused or failed: %1</source>
        <translation>运行被拒绝或失败：%1</translation>
    </message>
</context>
<context>
    <name>SignDialog</name>
    <message>
        <location filename="../calibration_browser.py" line="154"/>
        <source>Sign %1</source>
        <translation>签署 %1</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="155"/>
        <source>Meaning</source>
        <translation>含义</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="155"/>
        <source>User id</source>
        <translation>用户 ID</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="155"/>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="155"/>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="167"/>
        <source>Signing…</source>
        <translation>正在签署…</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="185"/>
        <source>Not signed: %1</source>
        <translation>未签署：%1</translation>
    </message>
</context>
<context>
    <name>State</name>
    <message>
        <location filename="../calibration_browser.py" line="56"/>
        <source>performed</source>
        <translation>已执行</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="57"/>
        <source>draft</source>
        <translation>草稿</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="58"/>
        <source>reviewed</source>
        <translation>已审核</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="59"/>
        <source>approved</source>
        <translation>已批准</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="60"/>
        <source>due</source>
        <translation>即将到期</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="61"/>
        <source>expired</source>
        <translation>已过期</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="62"/>
        <source>revoked</source>
        <translation>已撤销</translation>
    </message>
    <message>
        <location filename="../calibration_browser.py" line="63"/>
        <source>superseded</source>
        <translation>已被取代</translation>
    </message>
</context>
<context>
    <name>Status</name>
    <message>
        <location filename="../runner_view.py" line="153"/>
        <source>pending</source>
        <translation>等待中</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="154"/>
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="155"/>
        <source>passed</source>
        <translation>通过</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="156"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="157"/>
        <source>skipped</source>
        <translation>已跳过</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="158"/>
        <source>aborted</source>
        <translation>已中止</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="159"/>
        <source>completed</source>
        <translation>已完成</translation>
    </message>
</context>
</TS>
