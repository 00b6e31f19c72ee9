"""Activity: features from landmarks, rules per track, events and state; pure, no I/O."""
