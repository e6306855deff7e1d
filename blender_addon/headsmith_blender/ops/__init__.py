"""Operators (bpy): reconstruct, import, export, and the live-wrinkle timer."""
