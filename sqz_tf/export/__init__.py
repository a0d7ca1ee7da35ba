"""Exporting trained models: raw-text SavedModels (later: TFLite)."""
