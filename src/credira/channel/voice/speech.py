"""Speaking a transcript aloud with espeak-ng, when it is installed, for simulated recordings.

Each turn is spoken in its speaker's voice and the pieces are joined into one WAV file. Without
espeak-ng there is no recording, and calls say so with a null ``call_recording_url``.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import time
import wave

from credira.transcript.format import Speaker, parse_transcript

VOICES: dict[Speaker, str] = {"agent": "en-us", "debtor": "en-us+f3"}


LOOK_AGAIN_SECONDS = 60.0
_looked: list[tuple[float, bool]] = []  # when espeak-ng was last looked for, and if found


def available() -> bool:
    """Whether espeak-ng is installed. PATH is searched at most once a minute: the simulator
    asks at the end of every call."""
    now = time.monotonic()
    if not _looked or now - _looked[0][0] > LOOK_AGAIN_SECONDS:
        _looked[:] = [(now, shutil.which("espeak-ng") is not None)]
    return _looked[0][1]


async def _speak(text: str, voice: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        "espeak-ng",
        "-v",
        voice,
        "--stdout",
        text,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"espeak-ng exited with {process.returncode}")
    return out


def _join(pieces: list[bytes]) -> bytes:
    frames: list[bytes] = []
    params = None
    for piece in pieces:
        with wave.open(io.BytesIO(piece)) as part:
            params = params or part.getparams()
            frames.append(part.readframes(part.getnframes()))
            # Half a second of silence between turns.
            frames.append(b"\x00" * int(part.getframerate() * part.getsampwidth() * 0.5))
    out = io.BytesIO()
    with wave.open(out, "wb") as joined:
        assert params is not None
        joined.setparams(params)
        for chunk in frames:
            joined.writeframes(chunk)
    return out.getvalue()


async def speak_transcript(transcript: str) -> bytes | None:
    """A WAV of the transcript (in the format of `credira.transcript.format`), or None when it
    cannot be read, or espeak-ng is not installed or fails."""
    if not available():
        return None
    try:
        turns = parse_transcript(transcript)
    except ValueError:
        return None
    pieces = []
    for turn in turns:
        text = " ".join(turn.text.split())
        if text:
            try:
                pieces.append(await _speak(text, VOICES[turn.speaker]))
            except (OSError, RuntimeError):
                return None
    return _join(pieces) if pieces else None
