"""The widget's alert sound: a short chime of two notes, a small WAV file made by
:func:`chime` (run this module as a script to write it again)."""

from __future__ import annotations

import io
import math
import wave
from pathlib import Path

SOUND = Path(__file__).resolve().parents[2] / "src" / "imbachat" / "widget" / "alert.wav"
RATE = 8000  # samples a second: telephone quality, plenty for two soft notes
NOTES = ((0.0, 659.3), (0.11, 880.0))  # E5, then A5: (start in seconds, frequency)
LENGTH = 0.34  # seconds


def chime() -> bytes:
    """8-bit mono PCM: each note a sine with a little of its octave, a 5 ms attack
    and an exponential decay, at half the full loudness; the last 20 ms fade out."""
    samples = bytearray()
    for n in range(int(RATE * LENGTH)):
        t = n / RATE
        value = 0.0
        for start, frequency in NOTES:
            age = t - start
            if age < 0:
                continue
            envelope = min(1.0, age / 0.005) * math.exp(-age / 0.07)
            phase = 2 * math.pi * frequency * age
            value += envelope * (math.sin(phase) + 0.25 * math.sin(2 * phase)) / 1.25
        value *= min(1.0, (LENGTH - t) / 0.02)
        samples.append(round(128 + 127 * 0.5 * max(-1.0, min(1.0, value))))
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(1)
        sound.setframerate(RATE)
        sound.writeframes(bytes(samples))
    return out.getvalue()


def test_the_shipped_sound_is_the_chime_and_small() -> None:
    shipped = SOUND.read_bytes()

    made = chime()

    assert len(shipped) < 4096
    assert shipped[:44] == made[:44]  # the same header: format, rate, length
    # The same samples (another machine's sine may round one a step the other way).
    assert all(abs(a - b) <= 1 for a, b in zip(shipped[44:], made[44:], strict=True))
    with wave.open(io.BytesIO(shipped)) as sound:
        assert (sound.getnchannels(), sound.getsampwidth(), sound.getframerate()) == (1, 1, RATE)
        assert 0.2 < sound.getnframes() / RATE < 0.5


if __name__ == "__main__":
    SOUND.write_bytes(chime())
