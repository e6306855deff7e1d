"""Headsmith backend: photo -> animatable head with dynamic wrinkles, as a plain library, the
`headsmith` command line and the local service.

The source folder is `backend/`; it is installed under the import name `headsmith`.
"""
__version__ = "0.1.0"
