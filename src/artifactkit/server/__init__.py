"""The W&B-compatible emulator (see docs/emulator.md). It shares only stdlib-only modules with the SDK."""
