"""The extension's pure-Python side (no bpy): bundle reading and the wrinkle-driver formulas,
the backend client and process, background jobs handed back to the main thread, UI strings."""
