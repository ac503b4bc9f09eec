"""Front page, health check and metrics."""
