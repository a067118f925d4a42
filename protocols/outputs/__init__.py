"""What a protocol run leaves behind for people and other systems: reports, summaries and the
hospital exchange."""
