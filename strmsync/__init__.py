"""strmsync: mirror a cloud media library as .strm files for Emby and Jellyfin."""

__version__ = "0.1.0"
