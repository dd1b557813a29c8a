"""`python -m contract_tests` = `dumpling-contract`."""

from contract_tests.cli import main

raise SystemExit(main())
