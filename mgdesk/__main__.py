"""`python -m mgdesk` is the same as the `mgdesk` command."""

from mgdesk.cli import main

raise SystemExit(main())
