"""The documented import paths of walrus 0.9's alternative backends ("tusks")."""
