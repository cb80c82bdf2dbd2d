"""CDS Hooks 2.0 (order-select, order-sign) over FHIR R4: kg's answer inside the EHR's order screen.

By concern: :mod:`.codes` (the FHIR codes of kg's findings, procedures and measurements, read from
the ontology), :mod:`.fhir` (reading the hook's FHIR data into a kg case, leniently),
:mod:`.cards` (a kg answer and an order into cards), :mod:`.service` (the service: discovery,
a hook call). The HTTP routes are in ``kg/api/routes/cds.py``. Nothing here imports FastAPI.
"""
