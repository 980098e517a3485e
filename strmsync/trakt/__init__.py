"""Trakt jobs: a Trakt account's watched history into Emby/Jellyfin played state (DESIGN.md §9)."""
