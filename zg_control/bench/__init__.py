"""The comparison harness: the suite of named problems (:mod:`.suite`), one run and its record
(:mod:`.record`), the report and its statistics (:mod:`.report`, :mod:`.stats`) and the runner
that plans, runs and reports a comparison (:mod:`.runner`). Imports go one way: the runner uses
the report, the report the records, the records the suite."""
