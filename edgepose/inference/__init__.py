"""Model files, the TFLite runtime, and the accelerator plugins that make interpreters."""
