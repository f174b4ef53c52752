"""``python -m valuecast``: the same as the ``valuecast`` console script."""

from valuecast.cli import main

main()
