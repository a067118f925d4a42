"""Hospital exchange of finished runs: HL7 v2.6 ORU^R01 (IHE PCD-01) over MLLP, FHIR R4
transaction Bundles, DICOM (Encapsulated PDF + Secondary Capture maps) by C-STORE, all through
a durable outbox.

Modules, one job each:

- ``codes``: the code systems and codes every message uses (LOINC, MDC, UCUM, local codes).
- ``result_model``: one model of a finished run, built from its JSON summary and run record.
- ``hl7_message`` / ``mllp``: the ORU^R01 message and its MLLP delivery (AA only counts).
- ``fhir_bundle`` / ``fhir_client``: the transaction Bundle, its validation, its POST.
- ``dicom_objects`` / ``dicom_client``: the DICOM instances of a run, their C-STORE.
- ``outbox``: messages on disk (owner-only) until a receiver acknowledges them.
- ``delivery``: :func:`deliver_run`, what the runner and ``nirpoct send`` call.
"""
