"""kg audit: past imaging orders rated against the guideline, from FHIR Bulk Data or a flat CSV."""
