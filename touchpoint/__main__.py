"""`python -m touchpoint ...`: the same as the `touchpoint` command."""

from touchpoint.cli import main

raise SystemExit(main())
