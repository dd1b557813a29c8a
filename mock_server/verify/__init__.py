"""Client verification: the rules a client's recorded requests are checked against (the pipeline never imports this)."""
