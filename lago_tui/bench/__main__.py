"""``python -m lago_tui.bench``."""

from . import main

raise SystemExit(main())
