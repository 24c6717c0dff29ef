"""The package version, in a stdlib-only module that the emulator may import without the SDK."""

__version__ = "0.1.0"
