"""Stand-in package for edx-platform (see tests/edx/plugin/platform_root/README.md)."""
