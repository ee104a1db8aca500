"""The app driven by Pilot, tmux and snapshots."""
