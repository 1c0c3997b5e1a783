from rbyf_tui.cli import main

raise SystemExit(main())
