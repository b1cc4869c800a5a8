"""Media files on disk: input images (``images/``: read, checked and fitted to a
model's frame rules) and output videos (``video``: inspect, check, frames, join;
``video_probe``: the download's fast check)."""
