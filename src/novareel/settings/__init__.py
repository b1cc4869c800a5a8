"""Where novareel keeps its state (``NOVAREEL_HOME``), ``config.toml`` read in one
place, and the default model chosen once: above ``models/``, below everything that
reads a setting."""
