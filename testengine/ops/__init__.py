"""Running the service: health, metrics, schema version, database roles."""
