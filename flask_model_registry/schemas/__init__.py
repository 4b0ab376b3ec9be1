"""marshmallow schemas: validation at the edge, for the MLflow wire format and the native API."""
