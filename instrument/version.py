"""The version of nirpoct (the package metadata's version is read from here)."""

VERSION = "0.2.0"
