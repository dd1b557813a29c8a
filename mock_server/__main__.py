"""`python -m mock_server` is the `dumpling-mock` console script."""

from mock_server.cli import main

raise SystemExit(main())
