"""`python -m mock_server` is the `dumpling-mock` console script."""

from mock_server.cli.main import main

raise SystemExit(main())
