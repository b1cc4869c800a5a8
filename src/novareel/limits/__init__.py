"""What the ledger's history allows a new job: cost caps and budgets (``budget``),
the account's concurrency quota shared as leases (``quota``), and how long a job
should take (``expectations``)."""
