"""matching: pools of waiting people, groups and their lifecycle, acquaintance pairs."""
