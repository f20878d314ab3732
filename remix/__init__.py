"""remix: synthesis of the noisy weakly labelled remix corpus.

FSDKaggle2018 events placed into TAU Urban Acoustic Scenes 2019 scenes at
target SNRs, written as audio plus Parquet manifests that keep every event's
onset and offset. Needs no torch.
"""

__version__ = "0.1.0"
