"""Moving bytes: verified downloads with a shared cache, and uploads of new versions."""
