"""The paragraph a corpus card quotes when the stand-in sources were used.

Kept apart from :mod:`remix.standin.writer` so that a build on the stand-in (which
only quotes it) does not import the synthesisers and SciPy with it.
"""

STANDIN_NOTICE = (
    "The sources of this corpus are the toolkit's built-in stand-in: procedurally generated "
    "acoustic scenes and sound events laid out like TAU Urban Acoustic Scenes 2019 and "
    "FSDKaggle2018, not the real recordings. Results on it are not comparable with the "
    "paper's numbers. Part of the event audio is played from the TimGM6mb General MIDI "
    "SoundFont (shipped with pretty_midi; GPL-2.0), so audio derived from those events "
    "falls under that licence."
)
"""One paragraph a corpus card quotes when the stand-in sources were used."""
