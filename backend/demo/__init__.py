"""The README's main job for now: OpenHead rendered by the project's renderer to a contact sheet."""
