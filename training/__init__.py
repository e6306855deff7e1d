"""Headsmith training package (import name `headsmith_training`): trains the networks the backend
uses (the detail/wrinkle decoder first). Separate from the backend so that run time never needs
training-only dependencies. The trainers arrive with the wrinkle-decoder milestone."""
