"""View ▸ Usage: what the stored replies cost, by day, provider and model."""
