"""Above ``jobs/`` and ``batch/``, below the doors: the one connection factory
(``connection``: options -> clients, a generator, the emulator's lifetime), a failed
job retried from the ledger (``replay``), and a storyboard run one job per shot and
joined (``shotboard``)."""
