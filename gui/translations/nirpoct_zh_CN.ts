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
        <location filename="../live_view.py" line="185"/>
        <source>Sample</source>
        <translation>样本</translation>
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
        <location filename="../main_window.py" line="61"/>
        <source>%1: no record</source>
        <translation>%1：无记录</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="63"/>
        <source>%1: %2 %3 (due %4)</source>
        <translation>%1：%2 %3（到期 %4）</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="80"/>
        <source>%1: record %2 is %3. Sign it in the Calibration tab (Sign…): a reviewer signs “reviewed”, then an approver signs “approved”.</source>
        <translation>%1：记录 %2 状态为%3。请在校准标签页中签署（签署…）：先由审核人签署“已审核”，再由批准人签署“已批准”。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="90"/>
        <source>%1: record %2 expired on %3. Recalibrate with
    %4
then sign the new record in the Calibration tab; until then an approver may override it for one run in the Protocol tab (with a reason, recorded in the audit trail).</source>
        <translation>%1：记录 %2 已于 %3 过期。请用以下命令重新校准
    %4
然后在校准标签页中签署新记录；在此之前，批准人可在检测方案标签页中为单次运行进行覆盖（需填写理由，记入审计追踪）。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="103"/>
        <source>%1: no record. Measure and record one with
    %2
then sign it in the Calibration tab (or: %3).</source>
        <translation>%1：无记录。请用以下命令测量并记录
    %2
然后在校准标签页中签署（或：%3）。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="113"/>
        <source>%1: record %2 is %3 and cannot be used or overridden. Recalibrate with
    %4
then sign the new record in the Calibration tab.</source>
        <translation>%1：记录 %2 状态为%3，不能使用也不能覆盖。请用以下命令重新校准
    %4
然后在校准标签页中签署新记录。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="258"/>
        <source>nirpoct — NIR point-of-care instrument</source>
        <translation>nirpoct — 近红外即时检测仪</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="260"/>
        <source>(simulated devices)</source>
        <translation>（模拟设备）</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="262"/>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="263"/>
        <source>What must be done…</source>
        <translation>需要做什么…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="266"/>
        <source>Instrument</source>
        <translation>仪器</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="267"/>
        <source>Live view</source>
        <translation>实时视图</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="268"/>
        <source>Protocol</source>
        <translation>检测方案</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="269"/>
        <source>Results</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="270"/>
        <source>Run history</source>
        <translation>运行历史</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="271"/>
        <source>Calibration</source>
        <translation>校准</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="276"/>
        <source>SIMULATED DEVICES — not for patients</source>
        <translation>模拟设备 — 不可用于患者</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="297"/>
        <source>in use by the protocol run</source>
        <translation>正被检测方案运行使用</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="299"/>
        <source>acquiring</source>
        <translation>采集中</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="299"/>
        <source>connected</source>
        <translation>已连接</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="301"/>
        <source>connecting…</source>
        <translation>连接中…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="303"/>
        <source>not connected</source>
        <translation>未连接</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="353"/>
        <source>CALIBRATION REGISTRY UNREADABLE: %1</source>
        <translation>校准登记库无法读取：%1</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="363"/>
        <source>CALIBRATION NOT VALID: %1. These clinical protocols cannot start: %2.</source>
        <translation>校准无效：%1。以下临床检测方案无法启动：%2。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="376"/>
        <source>People who sign are registered with
    %1
(roles: %2).</source>
        <translation>签署人用以下命令注册
    %1
（角色：%2）。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="389"/>
        <source>What must be done</source>
        <translation>需要做什么</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="427"/>
        <source>A protocol is running. Abort it and close when it has stopped?</source>
        <translation>检测方案正在运行。是否中止并在其停止后关闭？</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="442"/>
        <source>Aborting the run; the window closes when it has stopped…</source>
        <translation>正在中止运行；停止后窗口将关闭…</translation>
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
        <location filename="../results_view.py" line="255"/>
        <source>Open PDF report</source>
        <translation>打开 PDF 报告</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="313"/>
        <source>REFUSED — nothing was measured: %1</source>
        <translation>已拒绝 — 未进行任何测量：%1</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="316"/>
        <source>RESULTS VALID — run completed, all QC gates passed</source>
        <translation>结果有效 — 运行完成，所有质控关卡通过</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="319"/>
        <source>NOT VALID — a QC gate failed; do not use these results</source>
        <translation>无效 — 有质控关卡未通过；请勿使用这些结果</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="322"/>
        <source>NOT VALID — run %1</source>
        <translation>无效 — 运行%1</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="335"/>
        <source>reference %1–%2 %3</source>
        <translation>参考范围 %1–%2 %3</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="338"/>
        <source>withheld (the signal was too poor to report a value reliably)</source>
        <translation>未报告（信号质量太差，无法可靠地给出数值）</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="427"/>
        <source>t (s)</source>
        <translation>时间（秒）</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="258"/>
        <source>Step</source>
        <translation>步骤</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="176"/>
        <source>SpO2</source>
        <translation>血氧饱和度 SpO2</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="177"/>
        <source>SpO2 (median)</source>
        <translation>血氧饱和度 SpO2（中位数）</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="178"/>
        <source>Pulse rate</source>
        <translation>脉率</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="179"/>
        <source>Perfusion index</source>
        <translation>灌注指数</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="180"/>
        <source>Perfusion index (median)</source>
        <translation>灌注指数（中位数）</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="183"/>
        <source>Tissue oxygenation (StO2)</source>
        <translation>组织氧饱和度（StO2）</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="256"/>
        <source>Details</source>
        <translation>详细信息</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="258"/>
        <source>Figure</source>
        <translation>指标</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="258"/>
        <source>Value</source>
        <translation>数值</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="258"/>
        <source>Unit</source>
        <translation>单位</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="261"/>
        <source>Trends</source>
        <translation>趋势</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="261"/>
        <source>Maps</source>
        <translation>分布图</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="261"/>
        <source>DOT slices</source>
        <translation>DOT 切片</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="261"/>
        <source>Lesions</source>
        <translation>病灶</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="269"/>
        <source>No run yet.</source>
        <translation>尚无运行记录。</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="286"/>
        <source>Started %1 UTC</source>
        <translation>开始于 %1（UTC）</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="290"/>
        <source>Subject (pseudonym): %1</source>
        <translation>受试者（假名）：%1</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="306"/>
        <source>all QC gates passed</source>
        <translation>所有质控关卡均通过</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="306"/>
        <source>QC not passed</source>
        <translation>质控未通过</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="429"/>
        <source>value</source>
        <translation>数值</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="278"/>
        <source>%1 %2: %3, %4
Run record: %5</source>
        <translation>%1 %2：%3，%4
运行记录：%5</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="296"/>
        <source>%1 delivered</source>
        <translation>%1 已送达</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="296"/>
        <source>%1 waiting in the outbox</source>
        <translation>%1 在发件箱中等待</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="300"/>
        <source>Hospital systems: %1</source>
        <translation>医院系统：%1</translation>
    </message>
    <message>
        <location filename="../results_view.py" line="302"/>
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
        <location filename="../runner_view.py" line="345"/>
        <location filename="../runner_view.py" line="691"/>
        <source>Error: %1</source>
        <translation>错误：%1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="345"/>
        <location filename="../runner_view.py" line="691"/>
        <source>Warning: %1</source>
        <translation>警告：%1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="348"/>
        <source>Protocol</source>
        <translation>检测方案</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="349"/>
        <source>About</source>
        <translation>说明</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="350"/>
        <source>Calibrations</source>
        <translation>校准</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="351"/>
        <source>Operator</source>
        <translation>操作员</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="352"/>
        <source>Subject</source>
        <translation>受试者</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="356"/>
        <source>stored only as a pseudonym</source>
        <translation>仅以假名存储</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="357"/>
        <source>Start</source>
        <translation>开始</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="358"/>
        <location filename="../runner_view.py" line="501"/>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="358"/>
        <location filename="../runner_view.py" line="501"/>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="359"/>
        <source>Abort</source>
        <translation>中止</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="360"/>
        <source>The run waits for you</source>
        <translation>运行正在等待您的操作</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="361"/>
        <source>Done, continue</source>
        <translation>已完成，继续</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="363"/>
        <source>Approver override (an expired calibration only; recorded in the audit trail)</source>
        <translation>批准人越权放行（仅限已过期的校准；记录在审计追踪中）</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="365"/>
        <source>Approver user id</source>
        <translation>批准人用户 ID</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="365"/>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="365"/>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="373"/>
        <source>Steps</source>
        <translation>步骤</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="374"/>
        <source>QC gates and messages</source>
        <translation>质控关卡与消息</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="375"/>
        <location filename="../runner_view.py" line="378"/>
        <source>Step</source>
        <translation>步骤</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="375"/>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="375"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="379"/>
        <source>Figure</source>
        <translation>指标</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="380"/>
        <source>Value</source>
        <translation>数值</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="381"/>
        <source>Unit</source>
        <translation>单位</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="382"/>
        <source>Low</source>
        <translation>下限</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="383"/>
        <source>High</source>
        <translation>上限</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="384"/>
        <source>Result</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="393"/>
        <location filename="../runner_view.py" line="681"/>
        <source>PASS</source>
        <translation>通过</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="393"/>
        <location filename="../runner_view.py" line="681"/>
        <source>FAIL</source>
        <translation>未通过</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="433"/>
        <source>none required</source>
        <translation>无需校准</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="438"/>
        <source>checking…</source>
        <translation>正在检查…</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="459"/>
        <source>due %1</source>
        <translation>到期日 %1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="475"/>
        <source>BLOCKED: this clinical protocol needs approved, in-date calibrations. %1</source>
        <translation>已禁止：此临床检测方案需要已批准且在有效期内的校准。%1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="519"/>
        <source>The instrument is busy; stop the live acquisition first.</source>
        <translation>仪器正忙；请先停止实时采集。</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="523"/>
        <source>Enter the operator.</source>
        <translation>请输入操作员。</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="558"/>
        <source>Running %1… The run uses the instrument itself: the Instrument tab&apos;s connection is closed and stays closed after the run (connect again there).</source>
        <translation>正在运行 %1… 运行会自行使用仪器：仪器标签页的连接已关闭，运行结束后仍保持关闭（请在那里重新连接）。</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="563"/>
        <source>Running %1…</source>
        <translation>正在运行 %1…</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="573"/>
        <source>Resumed.</source>
        <translation>已继续。</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="576"/>
        <source>Paused.</source>
        <translation>已暂停。</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="590"/>
        <source>Aborting…</source>
        <translation>正在中止…</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="627"/>
        <source>Run failed: %1</source>
        <translation>运行失败：%1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="651"/>
        <source>Elapsed %1</source>
        <translation>已用时 %1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="654"/>
        <source>about %1 left</source>
        <translation>约剩 %1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="716"/>
        <source>Run refused, nothing was measured: %1</source>
        <translation>运行被拒绝，未进行任何测量：%1</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="724"/>
        <source>all QC gates passed</source>
        <translation>所有质控关卡均通过</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="724"/>
        <source>QC not passed</source>
        <translation>质控未通过</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="726"/>
        <source>Run %1: %2</source>
        <translation>运行%1：%2</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="741"/>
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
        <location filename="../runner_view.py" line="144"/>
        <source>pending</source>
        <translation>等待中</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="145"/>
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="146"/>
        <source>passed</source>
        <translation>通过</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="147"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="148"/>
        <source>skipped</source>
        <translation>已跳过</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="149"/>
        <source>aborted</source>
        <translation>已中止</translation>
    </message>
    <message>
        <location filename="../runner_view.py" line="150"/>
        <source>completed</source>
        <translation>已完成</translation>
    </message>
</context>
</TS>
