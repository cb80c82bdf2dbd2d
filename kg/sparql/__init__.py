"""The SPARQL 1.1 Protocol endpoint's core: the dataset, the formats, the read-only checks and the
query workers. No FastAPI here; ``kg.api.routes.sparql`` is the HTTP side."""
