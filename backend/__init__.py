"""Headsmith backend: head models, renderer and (later) reconstruction, as a plain library.

The source folder is `backend/`; it is installed under the import name `headsmith`.
"""
__version__ = "0.1.0"
