"""One patient's journey: record (CSV, FHIR), personalisation, prescription, synthetic patients."""
