"""autoposter: turn a video into ready-to-publish posters (the core library, no AWS in it)."""

__version__ = "0.1.0"
