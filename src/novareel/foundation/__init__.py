"""The ground floor: pure pieces every other floor may use, importing nothing of
novareel outside this folder (the one exception tree, job statuses, results, the poll
schedule, s3:// rules, typed times, folder names, safe display of prompts, the guarded
reader of input files, and the slot request classes read images through)."""
