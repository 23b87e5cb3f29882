"""``python -m ttune``: the ttune command (how editors start ``python -m ttune lsp``)."""

from ttune.cli.main import main

main()
