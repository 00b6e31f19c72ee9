"""Build- and evaluation-time packages (model building, evaluation); the daemon never imports them."""
