"""The BlazePose pipeline: detector -> ROI -> landmarks -> tracker -> smoothing; pure, no I/O."""
