"""``python -m kg.sparql FD``: a query worker (see :mod:`kg.sparql.worker`), started by the pool."""

from kg.sparql.worker import main

main()
