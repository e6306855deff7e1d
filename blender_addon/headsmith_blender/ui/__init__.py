"""The N-panel and the preferences (bpy)."""
