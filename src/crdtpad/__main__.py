"""``python -m crdtpad``."""

from crdtpad.cli import main

if __name__ == "__main__":
    main()
