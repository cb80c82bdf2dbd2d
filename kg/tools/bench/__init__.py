"""``kg bench`` by concern: the servers it starts (servers), the HTTP load (load), what it measures
(measure), and the run and its report (run). Not imported by the service."""
