"""Log files on disk: finding them, their rotation families and content, inventory and dating."""
