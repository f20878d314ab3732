"""The label sets of the two source corpora.

FSDKaggle2018 (DCASE 2018 Task 2) has 41 event labels; TAU Urban Acoustic
Scenes 2019 has 10 scene labels recorded in 12 cities (the development set
holds 10 of them: no amsterdam, no madrid).
"""

from __future__ import annotations

EVENT_LABELS: tuple[str, ...] = (
    "Acoustic_guitar",
    "Applause",
    "Bark",
    "Bass_drum",
    "Burping_or_eructation",
    "Bus",
    "Cello",
    "Chime",
    "Clarinet",
    "Computer_keyboard",
    "Cough",
    "Cowbell",
    "Double_bass",
    "Drawer_open_or_close",
    "Electric_piano",
    "Fart",
    "Finger_snapping",
    "Fireworks",
    "Flute",
    "Glockenspiel",
    "Gong",
    "Gunshot_or_gunfire",
    "Harmonica",
    "Hi-hat",
    "Keys_jangling",
    "Knock",
    "Laughter",
    "Meow",
    "Microwave_oven",
    "Oboe",
    "Saxophone",
    "Scissors",
    "Shatter",
    "Snare_drum",
    "Squeak",
    "Tambourine",
    "Tearing",
    "Telephone",
    "Trumpet",
    "Violin_or_fiddle",
    "Writing",
)
"""The 41 FSDKaggle2018 labels, in the canonical (alphabetical) order used for
every label vector and score column of the toolkit."""

SCENE_LABELS: tuple[str, ...] = (
    "airport",
    "shopping_mall",
    "metro_station",
    "street_pedestrian",
    "public_square",
    "street_traffic",
    "tram",
    "bus",
    "metro",
    "park",
)
"""The 10 TAU Urban Acoustic Scenes 2019 scene labels."""

CITIES: tuple[str, ...] = (
    "amsterdam",
    "barcelona",
    "helsinki",
    "lisbon",
    "london",
    "lyon",
    "madrid",
    "milan",
    "paris",
    "prague",
    "stockholm",
    "vienna",
)
"""The 12 cities of TAU Urban Acoustic Scenes 2019."""

LABEL_INDEX: dict[str, int] = {label: i for i, label in enumerate(EVENT_LABELS)}
"""Position of each event label in :data:`EVENT_LABELS`."""

assert len(EVENT_LABELS) == 41 and len(SCENE_LABELS) == 10 and len(CITIES) == 12
