"""Expression presets of the head panel: ARKit shape-key values (every other key goes to 0). Made
for OpenHead's ARKit keys; a head without one of the names (FLAME's components) skips it."""

PRESETS = {
    "smile": {"mouthSmileLeft": 0.8, "mouthSmileRight": 0.8, "cheekSquintLeft": 0.4, "cheekSquintRight": 0.4,
              "eyeSquintLeft": 0.2, "eyeSquintRight": 0.2},
    "surprise": {"browInnerUp": 0.9, "browOuterUpLeft": 0.9, "browOuterUpRight": 0.9, "eyeWideLeft": 0.6,
                 "eyeWideRight": 0.6, "jawOpen": 0.35},
    "anger": {"browDownLeft": 0.9, "browDownRight": 0.9, "noseSneerLeft": 0.4, "noseSneerRight": 0.4,
              "mouthPressLeft": 0.5, "mouthPressRight": 0.5, "eyeSquintLeft": 0.3, "eyeSquintRight": 0.3},
    "sadness": {"browInnerUp": 0.7, "mouthFrownLeft": 0.7, "mouthFrownRight": 0.7, "mouthShrugLower": 0.3},
    "disgust": {"noseSneerLeft": 0.8, "noseSneerRight": 0.8, "mouthUpperUpLeft": 0.6, "mouthUpperUpRight": 0.6,
                "browDownLeft": 0.4, "browDownRight": 0.4},
    "kiss": {"mouthPucker": 0.9, "mouthFunnel": 0.3},
}
