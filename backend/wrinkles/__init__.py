"""Dynamic wrinkles: the detail decoders F_d(code, expression, jaw) -> UV displacement (OpenHead's
shipped one, DECA's from the user's checkpoint) behind one interface, the baked key-expression
maps with their shape-key blend weights, live re-decoding, and which model and decoder belong to
a bundle."""
