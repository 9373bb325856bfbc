"""`python -m playground.cli ...`, as the benchmarks start it in a child process."""

from playground.cli.main import main

raise SystemExit(main())
