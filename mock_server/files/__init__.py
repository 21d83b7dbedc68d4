"""Files: uploads kept in the store, their objects and their bytes."""

from .api import FILE, FilesAPI

__all__ = ["FILE", "FilesAPI"]
