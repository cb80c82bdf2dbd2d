"""The HTTP layer: schemas in, one call into the knowledge base, schemas out."""
